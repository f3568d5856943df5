"""What labgrader does as root on the evaluator's machine is safe whatever the candidate planted: secrets files
get 0600 even when they existed with another mode, nothing is written through a symlink, candidate text in the
terminal grid is inert, and two lifecycle commands never work on one lab at once."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

from labgrader import cli, lab, paths
from labgrader.errors import InputError


def test_a_secrets_file_that_existed_world_readable_is_rewritten_0600(tmp_path):
    target = tmp_path / "secrets.yml"
    target.write_text("old: value\n")
    target.chmod(0o644)
    paths.write_private(target, "domain_admin_password: s3cret\n")
    assert oct(target.stat().st_mode & 0o777) == "0o600", "un fichier de secrets n'est lisible que par root"
    assert target.read_text() == "domain_admin_password: s3cret\n", "le contenu est bien remplacé"


def test_a_symlink_planted_in_place_of_a_secrets_file_is_never_written_through(tmp_path):
    victim = tmp_path / "elsewhere.txt"
    victim.write_text("intact\n")
    planted = tmp_path / "secrets.yml"
    planted.symlink_to(victim)
    with pytest.raises(OSError):
        paths.write_private(planted, "domain_admin_password: s3cret\n")
    assert victim.read_text() == "intact\n", "la cible du lien n'a pas été écrasée"


def test_candidate_text_in_the_terminal_grid_is_never_markup_nor_escape_sequences():
    hostile = "[/red][bold]x \x1b[2J\x1b]52;c;SGVsbG8=\x07 fin"
    report = {"activity": "A1.1", "candidate": "cand-0042", "criteria": [
        {"id": "A1.1/CE.1", "status": "not_met", "checks": [{"outcome": "failed", "message": hostile}]}]}
    shown = io.StringIO()
    Console(file=shown, width=200, color_system=None).print(cli.grid_table(report))
    text = shown.getvalue()
    assert "[/red][bold]x" in text, f"le balisage du candidat est affiché tel quel : {text!r}"
    assert "\x1b" not in text and "\x07" not in text, f"aucune séquence d'échappement n'atteint le terminal : {text!r}"
    assert "\\x1b[2J" in text, "la séquence est montrée échappée"


@dataclass(frozen=True)
class _Lab:
    """What the lock needs of a lab: where its state lives and its name."""
    dir: Path
    id: str


def test_a_lifecycle_command_never_runs_beside_another_on_the_same_lab(tmp_path):
    the_lab = _Lab(tmp_path / "labs" / "l1", "l1")
    with lab.locked(the_lab):
        with pytest.raises(InputError, match="another labgrader command is working on the lab l1"):
            with lab.locked(the_lab):
                pass
        with pytest.raises(InputError, match="wait for it"):
            with lab.locked(the_lab, shared=True):  # a check never grades a lab being rebuilt
                pass
    with lab.locked(the_lab, shared=True), lab.locked(the_lab, shared=True):
        pass  # two checks of one lab may run together
    with lab.locked(_Lab(tmp_path / "labs" / "l2", "l2")), lab.locked(the_lab):
        pass  # another lab is another lock
    assert not os.path.islink(tmp_path / "labs" / "l1.lock"), "le verrou est un fichier ordinaire"
