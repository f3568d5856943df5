"""Errors a user can act on. Each carries a one-line message naming the file and the field at fault;
the CLI prints it and exits with `exit_code`, never a traceback."""


class LabgraderError(Exception):
    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        self.path, self.field = path, field
        where = ": ".join(part for part in (path, field) if part)
        super().__init__(f"{where}: {message}" if where else message)


class InputError(LabgraderError):
    """Bad scenario, inventory, option or other user input (exit 2)."""


class HostSetupError(LabgraderError):
    """The host lacks something the embedded provider needs (lxc, vagrant, root) (exit 2)."""


class LabError(LabgraderError):
    """Bringing a lab up or down failed; the message says where the log is (exit 3)."""
    exit_code = 3
