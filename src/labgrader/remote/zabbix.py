"""The supervision tool's view of the fleet, through the Zabbix API.

Client: zabbix-utils, Zabbix's official library, rather than pyzabbix: no dependency beyond the standard
library, it follows the API's changes across versions (`username` vs `user` at login, tokens from 5.4), and it
brings Sender/Getter for the trapper and agent protocols that later checks need. Both work on 6.0 here."""
from __future__ import annotations

import json
import re
import time
from functools import cached_property
from typing import Any

from zabbix_utils import ZabbixAPI
from zabbix_utils.exceptions import APIRequestError

from .base import HostUnreachable, ProtocolError
from .evidence import Recorder
from .tls import TlsPolicy

# Zabbix's own codes: `available` of a host interface the server reaches (5.4 and later); interface type agent.
INTERFACE_AVAILABLE = "1"
AGENT_INTERFACE = "1"
HOST_MONITORED = "0"
# Item types whose values come from the Zabbix agent of the host: passive (polled on an interface), active.
ZABBIX_AGENT_ITEM, ZABBIX_AGENT_ACTIVE_ITEM = "0", "7"
TIMEOUT_S = 15


def expression_functions(expression: str) -> set[str]:
    """The functions a trigger expression calls (`min(/h/k,5m)>95 or nodata(/h/k,5m)=1` → {min, nodata})."""
    return set(re.findall(r"\b([a-z_]+)\(", expression))


# Functions that say how a value moves, or whether it comes, not where it stands: a trigger built on these alone
# has no threshold (a sudden jump opens it and the next value closes it; nodata() watches the agent's silence).
NOT_A_LEVEL = frozenset({"nodata", "change", "changecount", "rate", "timeleft", "forecast", "fuzzytime"})


def compares_a_level(expression: str) -> bool:
    """The trigger compares a measured level (last, min, avg, count…) with something, not only its movement."""
    return bool(expression_functions(expression) - NOT_A_LEVEL)


class Supervision:
    def __init__(self, name: str, url: str, *, user: str | None = None, password: str | None = None,
                 token: str | None = None, tls: TlsPolicy = TlsPolicy(), recorder: Recorder):
        self.name, self.url, self.user = name, url, user
        self._password, self._token, self._tls, self.recorder = password, token, tls, recorder
        self.failure: str | None = None  # once the API has not answered, other checks need not wait again

    @cached_property
    def api(self) -> ZabbixAPI:
        if self.failure:
            raise HostUnreachable(self.failure)
        try:
            # One context for every call: a pinned fingerprint is checked on each connection urllib opens.
            api = ZabbixAPI(url=self.url, ssl_context=self._tls.context(), timeout=TIMEOUT_S)
            if self._token:
                api.login(token=self._token)
            else:
                api.login(user=self.user, password=self._password)
        except Exception as exc:  # zabbix-utils lets JSON and HTTP errors escape as they come: no answer
            self.recorder.record(self.name, f"zabbix login {self.user or 'token'} at {self.url}", f"failed: {exc!r}")
            self.failure = f"{self.name} : la connexion de l'évaluateur à l'API Zabbix ({self.url}) a échoué : {exc}"
            raise HostUnreachable(self.failure) from None
        self.recorder.opened(self.name, "zabbix_api")
        self.recorder.record(self.name, f"zabbix login {self.user or 'token'}", f"API {api.version}")
        return api

    def call(self, method: str, **params: Any) -> Any:
        group, verb = method.split(".")
        try:
            result = getattr(getattr(self.api, group), verb)(**params)
        except APIRequestError as exc:
            raise ProtocolError(f"{self.name} : l'API Zabbix a refusé {method} : {exc}") from None
        except Exception as exc:
            raise HostUnreachable(f"{self.name} : l'API Zabbix n'a pas répondu à {method} : {exc!r}") from None
        self.recorder.record(self.name, f"zabbix {method} {json.dumps(params, ensure_ascii=False)}",
                             json.dumps(result, ensure_ascii=False))
        return result

    def version(self) -> str:
        return str(self.api.version)

    def host(self, name: str) -> dict | None:
        """A host by its technical or visible name, with its interfaces."""
        for field in ("host", "name"):
            found = self.call("host.get", filter={field: name},
                              output=["hostid", "host", "name", "status", "maintenance_status"],
                              selectInterfaces=["interfaceid", "ip", "dns", "useip", "port", "main", "type",
                                                "available", "error"])
            if found:
                return found[0]
        return None

    def items(self, hostid: str, keys: list[str] | None = None) -> list[dict]:
        params: dict[str, Any] = {"hostids": hostid, "output": ["itemid", "key_", "name", "type", "interfaceid",
                                                               "lastvalue", "lastclock", "state", "error"]}
        if keys:
            params["filter"] = {"key_": keys}
        return self.call("item.get", **params)

    def recent_values(self, hostid: str, key_prefixes: list[str], max_age_s: int = 600) -> dict[str, list[dict]]:
        """Items whose key starts with each prefix and that received a value in the last max_age_s seconds."""
        now = time.time()
        items = self.items(hostid)
        return {prefix: [i for i in items if i["key_"].startswith(prefix) and int(i.get("lastclock") or 0) > now - max_age_s]
                for prefix in key_prefixes}

    def recent_items(self, hostid: str, key_prefixes: list[str], max_age_s: int = 600) -> list[dict]:
        """Every item of the host whose key starts with one of the prefixes and that received a value in the
        last max_age_s seconds (the caller judges where each value came from)."""
        now = time.time()
        return [i for i in self.items(hostid) if any(i["key_"].startswith(p) for p in key_prefixes)
                and int(i.get("lastclock") or 0) > now - max_age_s]

    def problems(self, hostid: str) -> list[dict]:
        return self.call("problem.get", hostids=hostid, output=["eventid", "objectid", "name", "severity", "clock",
                                                                "acknowledged", "suppressed"])

    def triggers(self, hostid: str, names: list[str]) -> list[dict]:
        """The host's triggers of these names, their expression spelled out and the items they read."""
        return self.call("trigger.get", hostids=hostid, filter={"description": names}, expandExpression=True,
                         output=["triggerid", "description", "expression", "status", "value", "state", "error"],
                         selectItems=["itemid", "key_", "status", "state", "lastclock", "error"])

    def close(self) -> None:
        if "api" in self.__dict__ and not self._token:
            try:
                self.api.logout()
            except Exception:  # logging out of an API that stopped answering: nothing to learn
                pass
            del self.__dict__["api"]
