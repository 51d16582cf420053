"""Per-request state: stores opened lazily on ``g``, the signed-in user, audit, pseudonyms.

Every store is opened at most once per request and closed on teardown; the casework
stores (runs, cases, users, audit) and the claims store's catalogue share one connection.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from flask import current_app, g

from casework.audit import AuditLog
from casework.cases import CaseStore
from casework.runs import RunStore
from casework.store import Casework
from casework.users import UserStore
from ground.errors import AccessDenied, NotFound
from ground.settings import Settings
from graph.store import GraphStore, open_graph_store, split_node_id
from ground.sqlite import transaction
from ingest.store import ClaimsStore
from export.pseudonym import PERSONAL_COLUMNS
from web.keys import PSEUDONYM_PREFIXES, PSEUDONYMISED_TYPES

__all__ = [
    "settings", "casework", "runs", "cases", "users", "audit_log", "claims_store", "graph_store", "close_stores",
    "audit", "require_role", "pseudonymous", "show_id", "show_frame", "resolve_id", "current_run_id",
    "CLAIM_PERSONAL_COLUMNS", "lookup_pseudonym", "show_case", "show_text", "query_for_audit",
]

# Claims columns that identify a person, with the entity type their pseudonym is keyed on.
CLAIM_PERSONAL_COLUMNS = {column: PSEUDONYM_PREFIXES[prefix] for column, prefix in PERSONAL_COLUMNS.items()}


def settings() -> Settings:
    return current_app.config["SHABAKA_SETTINGS"]


def _store(name: str, factory: Callable[[], Any]) -> Any:
    stores = g.setdefault("_stores", {})
    if name not in stores:
        stores[name] = factory()
    return stores[name]


def casework() -> Casework:
    """The request's one connection to ``HOME/shabaka.sqlite``, shared by the casework stores."""
    return _store("casework", lambda: Casework(settings().home_path))


def runs() -> RunStore:
    return casework().store(RunStore)


def cases() -> CaseStore:
    return casework().store(CaseStore)


def users() -> UserStore:
    return casework().store(UserStore)


def audit_log() -> AuditLog:
    return casework().store(AuditLog)


def claims_store() -> ClaimsStore:
    """The claims store of HOME, on the request's one connection to ``HOME/shabaka.sqlite``."""
    return _store("claims", lambda: ClaimsStore(settings().home_path, conn=casework().conn))


def graph_store() -> GraphStore:
    """The graph store (embedded or Neo4j)."""
    return _store("graph", lambda: open_graph_store(settings()))


def close_stores(exc: BaseException | None = None) -> None:
    """Teardown: close whatever this request opened.

    Parameters
    ----------
    exc : BaseException, optional
        What ended the request, if anything (Flask passes it).
    """
    for store in g.pop("_stores", {}).values():
        store.close()


def audit(action: str, **params: Any) -> None:
    """Append one entry for the signed-in user (or ``anonymous``).

    Parameters
    ----------
    action : str
    **params
        What it was done on; never personal identifiers.
    """
    user = g.get("user")
    audit_log().append(user["name"] if user else "anonymous", action, params)


def require_role(*roles: str) -> Callable:
    """Decorator: the view raises AccessDenied unless the user has one of ``roles``.

    Parameters
    ----------
    *roles : str
    """
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if g.user["role"] not in roles:
                raise AccessDenied(f"this page needs the role {' or '.join(roles)}")
            return view(*args, **kwargs)
        return wrapped
    return decorator


def pseudonymous() -> bool:
    """True when the signed-in user sees pseudonyms instead of personal identifiers."""
    user = g.get("user")
    return user is None or user["role"] == "analyst"


def show_id(entity_type: str, entity_id: Any) -> Any:
    """The identifier as this user may see it (pseudonym for analysts).

    Parameters
    ----------
    entity_type : str
    entity_id : object
        None and NA stay as they are.
    """
    if entity_id is None or (isinstance(entity_id, float) and pd.isna(entity_id)) or entity_id is pd.NA:
        return entity_id
    if entity_type not in PSEUDONYMISED_TYPES or not pseudonymous():
        return str(entity_id)
    pseudonym = current_app.extensions["shabaka_pseudonymiser"](entity_type, str(entity_id))
    g.setdefault("_pseudonyms", {})[pseudonym] = (entity_type, str(entity_id))
    return pseudonym


def show_frame(frame: pd.DataFrame, columns: dict[str, str] | None = None,
               type_column: str | None = None, id_column: str | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with personal columns pseudonymised for analysts.

    ``columns`` maps column -> entity type; ``type_column``/``id_column`` name a
    pair where each row says its own type (as in members).

    Parameters
    ----------
    frame : DataFrame
    columns : dict, optional
        Column -> entity type.
    type_column, id_column : str, optional
        A column of entity types and the column of the ids they type.
    """
    if not pseudonymous() or frame.empty:
        return frame
    out = frame.copy()
    for col, etype in (columns or {}).items():
        if col in out:
            out[col] = [show_id(etype, v) for v in out[col]]
    if type_column and id_column:
        out[id_column] = [show_id(t, v) for t, v in zip(out[type_column], out[id_column])]
    return out


def remember_pseudonyms() -> None:
    """Persist pseudonyms shown in this request so links made of them can be followed."""
    shown = g.pop("_pseudonyms", None)
    if not shown:
        return
    conn = runs().conn
    conn.execute("CREATE TABLE IF NOT EXISTS pseudonyms (pseudonym TEXT PRIMARY KEY, entity_type TEXT NOT NULL,"
                 " entity_id TEXT NOT NULL)")
    with transaction(conn) as c:
        c.executemany("INSERT OR IGNORE INTO pseudonyms VALUES (?,?,?)",
                      [(p, t, i) for p, (t, i) in shown.items()])


def lookup_pseudonym(entity_type: str, pseudonym: str) -> str | None:
    """The real identifier behind a pseudonym this viewer has shown, or None.

    Parameters
    ----------
    entity_type : str
    pseudonym : str
    """
    conn = runs().conn
    conn.execute("CREATE TABLE IF NOT EXISTS pseudonyms (pseudonym TEXT PRIMARY KEY, entity_type TEXT NOT NULL,"
                 " entity_id TEXT NOT NULL)")
    row = conn.execute("SELECT entity_id FROM pseudonyms WHERE pseudonym = ? AND entity_type = ?",
                       (pseudonym, entity_type)).fetchone()
    return None if row is None else str(row[0])


def resolve_id(entity_type: str, shown: str) -> str:
    """The real identifier behind what the user sees; analysts can only use pseudonyms.

    Parameters
    ----------
    entity_type : str
    shown : str
        The id in the URL or form.
    """
    if entity_type not in PSEUDONYMISED_TYPES or not pseudonymous():
        return shown
    real = lookup_pseudonym(entity_type, shown)
    if real is None:
        raise NotFound(f"{entity_type.lower()} {shown!r} not found")
    return real


def show_case(case: dict[str, Any] | None) -> dict[str, Any] | None:
    """A case as this user may see it: its free text (disposition, comments) pseudonymised for analysts.

    Parameters
    ----------
    case : dict, optional
        From ``CaseStore.case`` (None stays None).
    """
    if case is None or not pseudonymous():
        return case
    out = dict(case)
    if out.get("disposition"):
        out["disposition"] = show_text(out["disposition"])
    if "comments" in out:
        out["comments"] = [{**c, "body": show_text(c["body"])} for c in out["comments"]]
    return out


def show_text(text: str) -> str:
    """Free text as this user may see it.

    For analysts, every word that is a stored personal identifier (a beneficiary,
    phone, account, referrer or intermediary of the graph or of a finding) becomes
    its pseudonym, and what is left of any run of six or more digits (a phone or
    an id typed with spaces, one the stores do not know) is hidden. Provider,
    doctor and submission point ids stay as written; ISO dates are kept.

    Parameters
    ----------
    text : str
    """
    if not pseudonymous() or not text:
        return text
    words = [(m.start(), m.end(), m.group(0).rstrip(".,;:!?")) for m in _WORD.finditer(text)]
    kinds = _stored_types({w for _, _, w in words})
    out, plain_from = [], 0
    for start, end, word in words:
        types = kinds.get(word)
        if not types:
            continue
        out.append(_hide_numbers(text[plain_from:start]))
        personal = sorted(types & PSEUDONYMISED_TYPES)
        out.append(show_id(personal[0], word) if personal else word)
        plain_from = start + len(word)
    out.append(_hide_numbers(text[plain_from:]))
    return "".join(out)


def query_for_audit(text: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """How a search text is written to the audit log.

    In clear when it is a pseudonym or part of a provider, doctor or submission
    point id or name the search returned (nothing personal); otherwise as a keyed
    hash (HMAC-SHA256 with the pseudonym key), so the log never holds a typed
    personal id yet an admin holding the key can test whether a given text was searched.

    Parameters
    ----------
    text : str
        What was searched.
    results : list of dict
        What the search returned (type, entity_id, label).
    """
    prefix, _, rest = text.partition("~")
    lowered = text.lower()
    public = (prefix in PSEUDONYM_PREFIXES and rest) or any(
        r["type"] not in PSEUDONYMISED_TYPES and (lowered in str(r["entity_id"]).lower()
                                                   or lowered in str(r["label"]).lower())
        for r in results)
    if public:
        return {"q": text}
    digest = hmac.new(current_app.extensions["shabaka_search_key"], text.encode("utf-8"), hashlib.sha256)
    return {"q_hmac": digest.hexdigest(), "q_length": len(text)}


def current_run_id(requested: str | None) -> str:
    """The run asked for, or the latest; NotFound when there is no run yet.

    Parameters
    ----------
    requested : str, optional
        A run id from the request.
    """
    if requested:
        runs().run(requested)
        return requested
    latest = runs().latest_run_id()
    if latest is None:
        raise NotFound("no detection run yet: run `shabaka run` or `shabaka detect` first")
    return latest


_WORD = re.compile(r"[^\s,;()\[\]{}<>\"']+")
_NUMBER = re.compile(r"\+?\d(?:[ .\-/]?\d){5,}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_MAX_WORDS = 2000


def _stored_types(words: set[str]) -> dict[str, set[str]]:
    """word -> entity types a stored node or finding has with that id (words of 3+ characters)."""
    words = {w for w in words if 3 <= len(w) <= 200}
    found: dict[str, set[str]] = {}
    conn = runs().conn
    chunked = sorted(words)[:_MAX_WORDS]
    for i in range(0, len(chunked), 400):
        chunk = chunked[i:i + 400]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(f"SELECT entity_type, entity_id FROM members WHERE entity_id IN ({marks}) UNION "
                                f"SELECT entity_type, entity_id FROM entity_scores WHERE entity_id IN ({marks})",
                                (*chunk, *chunk)):
            found.setdefault(str(row[1]), set()).add(str(row[0]))
    store = graph_store()
    for word in chunked:
        try:
            node_ids = store.resolve(word)
        except NotFound:
            continue
        found.setdefault(word, set()).update(split_node_id(n)[0] for n in node_ids)
    return found


def _hide_numbers(text: str) -> str:
    def hide(m: re.Match) -> str:
        return m.group(0) if _ISO_DAY.fullmatch(m.group(0)) else "[number hidden]"
    return _NUMBER.sub(hide, text)


def unique(values: Iterable[Any]) -> list[Any]:
    """The values without None, NA and repeats, in first-seen order.

    Parameters
    ----------
    values : iterable
    """
    return list(dict.fromkeys(v for v in values if v is not None and not pd.isna(v)))
