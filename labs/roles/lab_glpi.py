"""GLPI's REST API on the GLPI machine itself, for the lab's own scripts (the seed, a scenario's solution, this
project's tests): `api = session(user_token)`, then `api("GET", "Computer?range=0-99")`.

Installed by the glpi and glpi-double roles (glpi-seed.py puts it on Python's path). On loopback GLPI's own
"localhost" API client answers, which has no app token: none is sent (a token sent there is refused, since GLPI picks
the API clients by the caller's address: src/Api/API.php, initApi and checkAppToken)."""
import json
import os
import ssl
import urllib.error
import urllib.request

API = os.environ.get("LAB_GLPI_API", "https://127.0.0.1/apirest.php")  # another one in this project's tests
CONTEXT = ssl._create_unverified_context()  # this machine's own certificate, on loopback


class GlpiError(Exception):
    """GLPI refused a call: its status and error list, in one line."""


def call(method, path, body=None, *, session=None, user_token=None):
    headers = {"Content-Type": "application/json"}
    headers.update({"Session-Token": session} if session else {"Authorization": f"user_token {user_token}"})
    request = urllib.request.Request(f"{API}/{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(request, context=CONTEXT, timeout=30) as answer:
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise GlpiError(f"{method} {path}: HTTP {exc.code} {exc.read()[:300]!r}") from None


def session(user_token):
    """A function calling GLPI's API in a session opened with the user token."""
    token = call("GET", "initSession", user_token=user_token)["session_token"]
    return lambda method, path, body=None: call(method, path, body, session=token)
