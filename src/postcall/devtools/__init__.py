"""Developer tools, kept out of the runtime packages: nothing under `postcall` but the CLI imports them.

- `twilio_simulator.py`  Twilio's side of a call (signed webhooks, TwiML reading) for
                         `postcall call --twilio`, the end-to-end tests and bench_twilio_load.
- `events_client.py`     a signed client of the call-events webhook (tests, chaos, examples).
- `scripted.py`          the "scripted" post-call program (a JSON list of actions) for tests,
                         drills and benchmarks of the durable layer without the engine.
- `crashdrill.py`        `python -m postcall.devtools.crashdrill`: a worker killed mid-run.
- `conformance.py`       Microsoft's Power Fx expression tests, run by `postcall fx test`.
- `openai_server.py`     a local OpenAI-compatible chat-completions server (tests, benches and
                         `python -m postcall.devtools.openai_server` for the example).

They ship in the wheel because CLI commands (`call --twilio`, `fx test`, `runs`) use them.
"""
