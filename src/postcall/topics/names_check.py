"""Checks of the names formulas read: unknown roots, Env names and System paths, with "did you mean".

Only free names count (Expr.free_names / TextTemplate.free_names): names that a row scope
(ForAll, Filter, With, `As` aliases, `ThisRecord`), IfError or a built-in option set provides
are not variables.  Misspelt Topic and Global variables are the validator's (TPC213, TPC214).
"""

from __future__ import annotations

from collections.abc import Iterable

from postcall.diagnostics import Diagnostic, SourceSpan, default_severity, did_you_mean
from postcall.topics import codes
from postcall.topics.agent import Agent
from postcall.topics.fx import OPTION_SET_NAMES, WELL_KNOWN_ROOTS
from postcall.topics.model import Expr, TextTemplate, VariableRef
from postcall.topics.schema_data import ENUMS
from postcall.vocabulary import SYSTEM_VARIABLES, is_system_path

# Copilot Studio's own option sets (`SignInReason.SignInRequired`...), named by its schema.
SYSTEM_OPTION_SETS: frozenset[str] = frozenset(ENUMS.get("SystemOptionSetName", ()))

# Suggested first: the scopes Copilot Studio topics use.
SCOPES: tuple[str, ...] = ("Topic", "Global", "System", "Env", "Conversation", "User", "Bot")


def check_names(
    agent: Agent,
    values: Iterable[Expr | TextTemplate],
    written: Iterable[VariableRef],
    *,
    single_file: bool,
) -> list[Diagnostic]:
    """TPC234 (unknown root name), TPC235 (unknown Env name; not for a single file, which has no
    agent.yaml) and TPC236 (unknown System path) for every free name in `values`, each name
    reported once per file.  `written` are the variables the agent's nodes write (a System
    path a topic writes is known)."""
    option_sets = sorted(set(agent.option_sets()) | OPTION_SET_NAMES | SYSTEM_OPTION_SETS)
    roots = set(WELL_KNOWN_ROOTS) | set(option_sets)
    candidates = [*SCOPES, *option_sets]
    system_written = {v.name for v in written if v.scope == "System"}
    system_paths = sorted({*SYSTEM_VARIABLES, *system_written})
    env = agent.env
    out: list[Diagnostic] = []
    seen: set[tuple[str, str]] = set()

    def add(code: str, message: str, span: SourceSpan, guess: str | None) -> None:
        hint = f"did you mean '{guess}'?" if guess else None
        out.append(Diagnostic(code, default_severity(code), message, span, hint))

    for value in values:
        for ref in value.free_names:
            key = (ref.span.path, ref.path)
            if key in seen:
                continue
            seen.add(key)
            root, rest = ref.root, ref.rest
            if "." in root:
                # A quoted component reference: an entity's or a question's option set
                # ('<bot>.entity.<Name>'.option, '<bot>.topic.<T>.main.<id>'.option) must exist;
                # others (an action's outputs) are defined outside the topics, not checked here.
                if not single_file and (".entity." in root or ".main." in root) and root not in option_sets:
                    add(
                        codes.BAD_ENTITY,
                        f"'{root}' is not an option set of this agent (no such entity or question); "
                        f"reading {ref.path} fails.",
                        ref.root_span,
                        None,
                    )
                continue
            if root not in roots:
                guess = did_you_mean(root, candidates)
                add(
                    codes.UNKNOWN_NAME,
                    f"'{root}' is not a variable scope or an option set; reading {ref.path} fails.",
                    ref.root_span,
                    f"{guess}.{rest}" if guess and rest else guess,
                )
            elif root == "Env" and rest and not single_file:
                name = rest.split(".", 1)[0]
                if name not in env:
                    guess = did_you_mean(name, sorted(env))
                    add(
                        codes.UNKNOWN_ENV,
                        f"Env.{name} is not defined in agent.yaml's env (nor given with --env); it reads as Blank.",
                        ref.span,
                        f"Env.{guess}" if guess else None,
                    )
            elif root in ("System", "Conversation") and rest:
                path = rest if root == "System" else f"Conversation.{rest}"
                if not is_system_path(path, system_written):
                    guess = did_you_mean(path, system_paths)
                    add(
                        codes.UNKNOWN_SYSTEM,
                        f"{ref.path} is not a System variable this runtime provides; it reads as Blank.",
                        ref.span,
                        _system_hint(root, guess),
                    )
    return out


def _system_hint(root: str, guess: str | None) -> str | None:
    if guess is None:
        return None
    if root == "Conversation" and guess.startswith("Conversation."):
        return guess
    return f"System.{guess}"
