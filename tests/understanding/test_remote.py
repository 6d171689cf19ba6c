"""The llm and http recognisers: real servers on 127.0.0.1, the action layer, the fallback."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from postcall.devtools.openai_server import OpenAIServer, Scripted
from postcall.diagnostics import Severity
from postcall.engine.recognizer import IntentCandidate, Recognition
from postcall.lifecycle.recognition import runtime_recognizer
from postcall.testing import Conversation
from postcall.topics import load_agent
from postcall.topics.agent import Agent
from postcall.understanding import HttpRecognizer, LlmRecognizer, intent_candidates
from testing.drip_server import DripServer

TOPICS = {
    "Refund": ("money back for an order", ["I want a refund", "give me my money back", "refund my order"],
               "Your refund is on its way."),
    "Order status": ("where an order is", ["where is my order", "track my parcel", "has my order shipped"],
                     "Your order ships tomorrow."),
    "Opening hours": (None, ["when are you open", "what are your opening hours", "are you open on sunday"],
                      "We are open nine to five."),
}
FALLBACK = """kind: AdaptiveDialog
beginDialog:
  kind: OnUnknownIntent
  id: main
  actions:
    - kind: SendActivity
      id: say_sorry
      activity: Sorry, I did not get that.
"""


def agent_dir(root: Path, recognizer_yaml: str, extra: str = "") -> Path:
    (root / "topics").mkdir(parents=True)
    for name, (description, phrases, reply) in TOPICS.items():
        described = f"modelDescription: {description}\n" if description else ""
        queries = "".join(f"      - {p}\n" for p in phrases)
        (root / "topics" / f"{name}.topic.yaml").write_text(
            f"kind: AdaptiveDialog\n{described}beginDialog:\n  kind: OnRecognizedIntent\n  id: main\n"
            f"  intent:\n    triggerQueries:\n{queries}  actions:\n    - kind: SendActivity\n"
            f"      id: say\n      activity: {reply}\n"
        )
    (root / "topics" / "Fallback.topic.yaml").write_text(FALLBACK)
    (root / "agent.yaml").write_text(f"name: shop\n{extra}recognizer:\n{recognizer_yaml}")
    return root


def load(root: Path) -> Agent:
    loaded = load_agent(root)
    assert loaded.agent is not None, [d.message for d in loaded.diagnostics]
    return loaded.agent


def choice(outcome: str, topics: list[str], confidence: float = 0.9, reason: str = "fits") -> str:
    return json.dumps({"outcome": outcome, "topics": topics, "confidence": confidence, "reason": reason})


# ---------------------------------------------------------------------------------------------
# llm


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    with OpenAIServer(api_key="sk-test") as server:
        yield server


def llm_agent(tmp_path: Path, server: OpenAIServer, timeout: float = 5.0, hosts: str = "127.0.0.1") -> Agent:
    extra = f"allowed_hosts: ['{hosts}']\nmodel:\n  base_url: {server.base_url}\n  model: local-model\n"
    return load(agent_dir(tmp_path, f"  kind: llm\n  timeout_seconds: {timeout}\n", extra))


def test_the_model_chooses_the_topic_from_names_descriptions_and_phrases(tmp_path: Path, model: OpenAIServer) -> None:
    model.responder = lambda body: choice("match", ["Refund"], 0.93, "wants money back")
    convo = Conversation(llm_agent(tmp_path, model))
    convo.start()
    assert "Your refund is on its way." in convo.say("the thing I bought broke and I want what I paid")
    found = convo.results[-1].recognitions[-1]
    assert (found.recognizer, found.outcome, found.chosen[0].topic, found.chosen[0].score) == ("llm", "match", "Refund", 0.93)
    assert "wants money back" in found.reason
    sent = model.requests[-1]
    system, user = sent["messages"]
    assert user == {"role": "user", "content": "the thing I bought broke and I want what I paid"}
    assert "Refund: money back for an order" in system["content"]
    assert '"track my parcel"' in system["content"]
    assert "Opening hours: Opening hours." in system["content"]  # no description: the name
    schema = sent["response_format"]["json_schema"]["schema"]
    assert sorted(schema["properties"]["topics"]["items"]["enum"]) == sorted(TOPICS)


def test_none_from_the_model_goes_to_fallback(tmp_path: Path, model: OpenAIServer) -> None:
    model.responder = lambda body: choice("none", [], 0.8, "small talk")
    convo = Conversation(llm_agent(tmp_path, model))
    convo.start()
    assert "Sorry, I did not get that." in convo.say("what a lovely day")
    assert convo.results[-1].recognitions[-1].outcome == "none"


def test_ambiguous_answer_offers_the_options(tmp_path: Path, model: OpenAIServer) -> None:
    model.responder = lambda body: choice("ambiguous", ["Refund", "Order status"], 0.6)
    agent = llm_agent(tmp_path, model)
    rec = runtime_recognizer(agent)
    found = rec.decide("my order", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.outcome == "ambiguous"
    assert [(m.topic, m.score) for m in found.chosen] == [("Refund", 0.6), ("Order status", 0.54)]


@pytest.mark.parametrize(
    ("scripted", "why"),
    [
        (Scripted(content="I think it is the refund topic"), "not JSON"),
        (Scripted(content=choice("match", ["Weather"])), "'Weather', which is not a candidate"),
        (Scripted(content=choice("match", []).replace('"match"', '"maybe"')), "not match, ambiguous or none"),
        (Scripted(content=choice("match", [])), "without a topic"),
        (Scripted(raw_body="{not a completion"), "not a chat completion"),
        (Scripted(status=500), "500"),
    ],
    ids=["prose", "unknown-topic", "bad-outcome", "match-without-topic", "malformed-body", "server-error"],
)
def test_an_unusable_answer_falls_back_to_the_embedded_recogniser(
    tmp_path: Path, model: OpenAIServer, scripted: Scripted, why: str
) -> None:
    model.script.append(scripted)
    convo = Conversation(llm_agent(tmp_path, model))
    convo.start()
    assert "Your order ships tomorrow." in convo.say("where is my order")
    found = convo.results[-1].recognitions[-1]
    assert found.recognizer == "llm->embedded" and found.chosen[0].topic == "Order status"
    assert why in found.reason and "embedded:" in found.reason
    assert len(model.requests) == 1  # one attempt: a caller is waiting


def test_chat_explain_shows_the_fallback_and_why(tmp_path: Path, model: OpenAIServer) -> None:
    from postcall.cli.conversation import explain_lines

    model.script.append(Scripted(content=choice("match", ["Weather"])))
    convo = Conversation(llm_agent(tmp_path, model))
    convo.start()
    before = len(convo.results)
    convo.say("where is my order")
    lines = explain_lines(convo, before)
    assert lines[0].startswith("  [recognizer (llm->embedded)] match: llm not used (the model named 'Weather'")
    assert any(line.strip().startswith("*") and "Order status" in line for line in lines[1:])


def test_a_model_slower_than_the_timeout_falls_back(tmp_path: Path, model: OpenAIServer) -> None:
    model.script.append(Scripted(content=choice("match", ["Refund"]), delay_s=3.0))
    agent = llm_agent(tmp_path, model, timeout=0.2)
    found = runtime_recognizer(agent).decide("are you open on sunday", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "llm->embedded"
    assert "did not answer within" in found.reason
    assert found.chosen[0].topic == "Opening hours"


def test_a_host_that_is_not_allowed_is_never_called(tmp_path: Path, model: OpenAIServer) -> None:
    agent = llm_agent(tmp_path, model, hosts="api.example.com")
    found = runtime_recognizer(agent).decide("where is my order", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "llm->embedded" and "127.0.0.1" in found.reason
    assert model.requests == []


def test_nothing_said_sends_no_request_and_the_recogniser_keeps_no_answers(tmp_path: Path, model: OpenAIServer) -> None:
    # Reusing a decision is the turn's record's job (test_remote_replay.py), not a cache shared
    # by every conversation: asked twice, the recogniser asks twice.
    answers = iter([choice("match", ["Refund"]), choice("match", ["Order status"])])
    model.responder = lambda body: next(answers)
    agent = llm_agent(tmp_path, model)
    rec = runtime_recognizer(agent)
    cands = intent_candidates(agent)
    assert rec.decide("   ", cands).outcome == "none"  # type: ignore[attr-defined]
    assert model.requests == []
    first = rec.decide("refund please", cands)  # type: ignore[attr-defined]
    again = rec.decide("refund please", cands)  # type: ignore[attr-defined]
    assert (first.chosen[0].topic, again.chosen[0].topic) == ("Refund", "Order status")
    assert len(model.requests) == 2


def test_llm_without_a_model_is_a_configuration_error(tmp_path: Path) -> None:
    loaded = load_agent(agent_dir(tmp_path, "  kind: llm\n"))
    errors = [d.message for d in loaded.diagnostics if d.severity == Severity.ERROR]
    assert any("recognizer kind 'llm' needs a model" in m for m in errors)


def test_bad_input_gets_a_decision_with_the_llm_kind(tmp_path: Path, model: OpenAIServer) -> None:
    model.responder = lambda body: choice("none", [])
    agent = llm_agent(tmp_path, model)
    rec = runtime_recognizer(agent)
    for text in ("x" * 10_000, "😀😀", "我想查询我的账单", "ok"):
        found = rec.decide(text, intent_candidates(agent))  # type: ignore[attr-defined]
        assert isinstance(found, Recognition) and found.outcome == "none"
    assert max(len(r["messages"][1]["content"]) for r in model.requests) == 2000


# ---------------------------------------------------------------------------------------------
# http


class NluServer:
    """A small external NLU on 127.0.0.1: checks the signature, answers what `answer` says."""

    def __init__(self, secret: str = "nlu-secret") -> None:
        self.secret = secret
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.answer: Callable[[dict[str, Any]], tuple[int, bytes]] = lambda body: (200, b'{"intents": []}')
        self.delay = threading.Event()  # set: never answer in time (the handler waits on `release`)
        self.release = threading.Event()
        nlu = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                nlu.requests.append((headers, json.loads(raw)))
                if nlu.delay.is_set():
                    nlu.release.wait(10)
                stamp = headers.get("x-postcall-timestamp", "")
                expected = "sha256=" + hmac.new(nlu.secret.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
                bearer = headers.get("authorization") == f"Bearer {nlu.secret}"
                if not bearer and not hmac.compare_digest(headers.get("x-postcall-signature", ""), expected):
                    status, body = 401, b'{"error": "bad signature"}'
                else:
                    status, body = nlu.answer(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/recognize"


@pytest.fixture
def nlu(monkeypatch: pytest.MonkeyPatch) -> Iterator[NluServer]:
    monkeypatch.setenv("SHOP_NLU_SECRET", "nlu-secret")
    server = NluServer()
    server.thread.start()
    yield server
    server.release.set()
    server.server.shutdown()
    server.server.server_close()


def http_agent(tmp_path: Path, nlu: NluServer, more: str = "") -> Agent:
    rec = f"  kind: http\n  url: {nlu.url}\n  secret_env: SHOP_NLU_SECRET\n  timeout_seconds: 5\n{more}"
    return load(agent_dir(tmp_path, rec, "allowed_hosts: ['127.0.0.1']\n"))


def intents(*pairs: tuple[str, Any]) -> Callable[[dict[str, Any]], tuple[int, bytes]]:
    return lambda body: (200, json.dumps({"intents": [{"topic": t, "score": s} for t, s in pairs]}).encode())


def test_a_signed_request_and_scored_topics(tmp_path: Path, nlu: NluServer) -> None:
    nlu.answer = intents(("Refund", 0.91), ("Order status", 0.2))
    convo = Conversation(http_agent(tmp_path, nlu))
    convo.start()
    assert "Your refund is on its way." in convo.say("money back please")
    found = convo.results[-1].recognitions[-1]
    assert (found.recognizer, found.outcome, found.chosen[0].topic) == ("http", "match", "Refund")
    headers, body = nlu.requests[-1]
    assert body["text"] == "money back please" and body["language"] == "en-US" and body["agent"] == "shop"
    assert {c["topic"] for c in body["candidates"]} == set(TOPICS)
    assert headers["x-postcall-signature"].startswith("sha256=") and "authorization" not in headers


def test_bearer_auth_sends_the_secret(tmp_path: Path, nlu: NluServer) -> None:
    nlu.answer = intents(("Opening hours", 0.8))
    agent = http_agent(tmp_path, nlu, "  auth: bearer\n")
    found = runtime_recognizer(agent).decide("hours?", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "http" and found.chosen[0].topic == "Opening hours"
    assert nlu.requests[-1][0]["authorization"] == "Bearer nlu-secret"


def test_close_scores_are_ambiguous_and_low_scores_are_none(tmp_path: Path, nlu: NluServer) -> None:
    agent = http_agent(tmp_path, nlu)
    rec = runtime_recognizer(agent)
    nlu.answer = intents(("Refund", 0.7), ("Order status", 0.65))
    assert rec.decide("my order", intent_candidates(agent)).outcome == "ambiguous"  # type: ignore[attr-defined]
    nlu.answer = intents(("Refund", 0.3))
    assert rec.decide("hello there", intent_candidates(agent)).outcome == "none"  # type: ignore[attr-defined]


def test_topics_that_are_not_candidates_are_ignored(tmp_path: Path, nlu: NluServer) -> None:
    nlu.answer = intents(("Weather", 0.99), ("Order status", 0.8))
    agent = http_agent(tmp_path, nlu)
    found = runtime_recognizer(agent).decide("parcel?", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "http" and found.chosen[0].topic == "Order status"
    assert "'Weather'" in found.reason


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda body: (200, b"<html>oops</html>"), "not JSON with an 'intents' list"),
        (intents(("Refund", "high")), "malformed intent"),
        (intents(("Refund", 7)), "malformed intent"),
        (lambda body: (503, b"{}"), "503"),
    ],
    ids=["html", "score-text", "score-range", "unavailable"],
)
def test_a_malformed_nlu_answer_falls_back(tmp_path: Path, nlu: NluServer, answer: Any, why: str) -> None:
    nlu.answer = answer
    agent = http_agent(tmp_path, nlu)
    found = runtime_recognizer(agent).decide("track my parcel", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "http->embedded" and why in found.reason
    assert found.chosen[0].topic == "Order status"


def test_a_slow_nlu_falls_back(tmp_path: Path, nlu: NluServer) -> None:
    nlu.delay.set()
    agent = load(agent_dir(tmp_path, f"  kind: http\n  url: {nlu.url}\n  secret_env: SHOP_NLU_SECRET\n"
                           "  timeout_seconds: 0.2\n", "allowed_hosts: ['127.0.0.1']\n"))
    found = runtime_recognizer(agent).decide("when are you open", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "http->embedded" and "timed out" in found.reason
    assert found.chosen[0].topic == "Opening hours"


def test_a_missing_secret_sends_nothing(tmp_path: Path, nlu: NluServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_NLU_SECRET")
    agent = http_agent(tmp_path, nlu)
    found = runtime_recognizer(agent).decide("refund", intent_candidates(agent))  # type: ignore[attr-defined]
    assert found.recognizer == "http->embedded" and "SHOP_NLU_SECRET is not set" in found.reason
    assert nlu.requests == []


def test_http_needs_a_url(tmp_path: Path) -> None:
    loaded = load_agent(agent_dir(tmp_path, "  kind: http\n"))
    assert any("needs url" in d.message for d in loaded.diagnostics if d.severity == Severity.ERROR)


def test_the_recognisers_keep_the_protocol() -> None:
    cands = [IntentCandidate("A", ("alpha",))]
    calls: list[object] = []

    def execute(request: Any, **_: Any) -> Any:
        calls.append(request)
        raise RuntimeError("boom")

    for rec in (LlmRecognizer(execute), HttpRecognizer(execute, "http://127.0.0.1:9/x")):
        rec.prepare(cands)
        found = rec.decide("alpha", cands)
        assert found.recognizer.endswith("->embedded") and "internal error RuntimeError: boom" in found.reason
        assert rec.recognize("alpha", cands) == list(found.chosen)
    assert len(calls) == 4  # decide and recognize each asked (the recogniser keeps no answers)


@pytest.mark.parametrize(
    ("hosts", "warned"),
    [("", True), ("allowed_hosts: ['nlu.example.com']\n", True), ("allowed_hosts: ['127.0.0.1:8765']\n", False),
     ("allowed_hosts: ['127.0.0.0/8']\n", False)],
)
def test_check_warns_when_the_recogniser_host_is_not_allowed(tmp_path: Path, hosts: str, warned: bool) -> None:
    loaded = load_agent(agent_dir(tmp_path, "  kind: http\n  url: http://127.0.0.1:8765/recognize\n", hosts))
    found = [d for d in loaded.diagnostics if "is not in allowed_hosts" in d.message]
    assert bool(found) == warned
    assert all(d.severity == Severity.WARNING and "127.0.0.1" in d.message for d in found)


# ---------------------------------------------------------------------------------------------
# timeout_seconds bounds the caller's whole wait


def test_an_nlu_answer_that_trickles_in_is_cut_off_at_timeout_seconds(tmp_path: Path) -> None:
    answer = json.dumps({"intents": [{"topic": "Refund", "score": 0.99}]}).encode().ljust(120)
    with DripServer(answer) as drip:
        agent = load(agent_dir(tmp_path, f"  kind: http\n  url: http://127.0.0.1:{drip.port}/recognize\n"
                               "  timeout_seconds: 0.5\n", "allowed_hosts: ['127.0.0.1']\n"))
        found = runtime_recognizer(agent).decide("are you open on sunday", intent_candidates(agent))  # type: ignore[attr-defined]
        still_sending = drip.sent > 0 and not drip.finished.is_set()
    assert found.recognizer == "http->embedded", found.reason  # not the NLU's "Refund", which came too late
    assert "did not answer within 0.5 s in all" in found.reason
    assert found.chosen[0].topic == "Opening hours"
    assert still_sending  # the answer had started and was still coming when the caller got a decision


def test_a_model_answer_that_trickles_in_is_cut_off_at_timeout_seconds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTCALL_MODEL_API_KEY", "sk-test")
    completion = {
        "id": "chatcmpl-drip", "object": "chat.completion", "created": 0, "model": "local-model",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": choice("match", ["Refund"], 0.99), "refusal": None}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    with DripServer(json.dumps(completion).encode()) as drip:
        extra = f"allowed_hosts: ['127.0.0.1']\nmodel:\n  base_url: http://127.0.0.1:{drip.port}/v1\n  model: local-model\n"
        agent = load(agent_dir(tmp_path, "  kind: llm\n  timeout_seconds: 0.5\n", extra))
        found = runtime_recognizer(agent).decide("are you open on sunday", intent_candidates(agent))  # type: ignore[attr-defined]
        still_sending = drip.sent > 0 and not drip.finished.is_set()
    assert found.recognizer == "llm->embedded", found.reason
    assert "did not answer within 0.5 s in all" in found.reason
    assert found.chosen[0].topic == "Opening hours"
    assert still_sending, (drip.sent, found.reason)


# ---------------------------------------------------------------------------------------------
# postcall check's host warning follows the action layer's rule


@pytest.mark.parametrize(
    ("host", "hosts", "warned"),
    [
        ("localhost", "allowed_hosts: ['127.0.0.1', 'crm']\n", False),  # resolves to a listed address
        ("localhost", "", True),  # loopback is never admitted by "*"
        ("nlu.internal.example", "allowed_hosts: ['127.0.0.1', 'crm']\n", False),  # depends on what it resolves to
        ("nlu.internal.example", "allowed_hosts: ['crm']\n", True),  # refused whatever it resolves to
        ("nlu.internal.example", "allowed_hosts: ['nlu.internal.example']\n", False),
    ],
)
def test_check_warns_only_when_the_action_layer_refuses_every_request(
    tmp_path: Path, host: str, hosts: str, warned: bool
) -> None:
    loaded = load_agent(agent_dir(tmp_path, f"  kind: http\n  url: http://{host}:8765/recognize\n  secret_env: S\n", hosts))
    found = [d for d in loaded.diagnostics if "is not in allowed_hosts" in d.message]
    assert bool(found) == warned, [d.message for d in loaded.diagnostics]


def test_a_name_whose_address_is_listed_is_reached_and_check_does_not_warn(tmp_path: Path, nlu: NluServer) -> None:
    nlu.answer = intents(("Refund", 0.9))
    url = nlu.url.replace("127.0.0.1", "localhost")
    rec = f"  kind: http\n  url: {url}\n  secret_env: SHOP_NLU_SECRET\n"
    loaded = load_agent(agent_dir(tmp_path, rec, "allowed_hosts: ['127.0.0.1', '::1', 'crm']\n"))
    assert loaded.agent is not None
    assert not [d.message for d in loaded.diagnostics if "allowed_hosts" in d.message]
    found = runtime_recognizer(loaded.agent).decide("money back", intent_candidates(loaded.agent))  # type: ignore[attr-defined]
    assert found.recognizer == "http" and nlu.requests  # the runtime admits it: localhost resolved to 127.0.0.1


def test_a_failure_is_not_remembered_the_next_question_asks_again(
    tmp_path: Path, nlu: NluServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([(503, b"{}")])
    nlu.answer = lambda body: next(answers, (200, b'{"intents": [{"topic": "Opening hours", "score": 0.9}]}'))
    agent = http_agent(tmp_path, nlu)
    rec = runtime_recognizer(agent)
    cands = intent_candidates(agent)
    said = "are you open on sunday"
    found = [rec.decide(said, cands) for _ in range(3)]  # type: ignore[attr-defined]
    assert [f.recognizer for f in found] == ["http->embedded", "http", "http"]
    assert len(nlu.requests) == 3
    monkeypatch.delenv("SHOP_NLU_SECRET")
    assert rec.decide(said, cands).recognizer == "http->embedded"  # type: ignore[attr-defined]
    monkeypatch.setenv("SHOP_NLU_SECRET", "nlu-secret")  # set after start: read at each call
    assert rec.decide(said, cands).recognizer == "http"  # type: ignore[attr-defined]
    assert len(nlu.requests) == 4


# ---------------------------------------------------------------------------------------------
# a question's answer costs no remote round-trip when the decision cannot matter


def question_agent(tmp_path: Path, server: OpenAIServer, entity: str) -> Agent:
    root = agent_dir(tmp_path, "  kind: llm\n  timeout_seconds: 5\n",
                     f"allowed_hosts: ['127.0.0.1']\nmodel:\n  base_url: {server.base_url}\n  model: local-model\n")
    (root / "topics" / "Start.topic.yaml").write_text(
        "kind: AdaptiveDialog\nbeginDialog:\n  kind: OnConversationStart\n  id: main\n  actions:\n"
        "    - kind: Question\n      id: ask\n      variable: init:Topic.Said\n      prompt: Shall I continue?\n"
        f"      entity: {entity}\n    - kind: SendActivity\n      id: echo\n      activity: \"You said {{Topic.Said}}.\"\n"
    )
    return load(root)


def test_a_closed_questions_answer_is_taken_without_asking_the_model(tmp_path: Path, model: OpenAIServer) -> None:
    model.responder = lambda body: choice("match", ["Refund"], 0.95)
    convo = Conversation(question_agent(tmp_path, model, "BooleanPrebuiltEntity"))
    assert convo.start() == ["Shall I continue?"]
    assert convo.say("yes") == ["You said true."]
    assert model.requests == []  # the answer wins whatever the model says: nothing left the process
    # words that do not answer it are worth asking: the model's topic interrupts the question
    convo = Conversation(question_agent(tmp_path / "again", model, "BooleanPrebuiltEntity"))
    convo.start()
    assert "Your refund is on its way." in convo.say("I want my money back")
    assert len(model.requests) == 1


def test_a_free_text_question_still_asks_the_model_first(tmp_path: Path, model: OpenAIServer) -> None:
    model.responder = lambda body: choice("match", ["Refund"], 0.95)
    convo = Conversation(question_agent(tmp_path, model, "StringPrebuiltEntity"))
    convo.start()
    assert "Your refund is on its way." in convo.say("I want a refund")  # sure enough to interrupt
    assert len(model.requests) == 1
