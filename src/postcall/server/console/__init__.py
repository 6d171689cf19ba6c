"""The console: server-rendered pages, its login, the chart; templates/ and static/ beside."""
