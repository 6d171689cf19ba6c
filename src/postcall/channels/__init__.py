"""Channels translate provider webhooks into engine activities and agent outputs into replies.

Import from the module that owns a name: `postcall.channels.base` (WebhookRequest, ChannelReply,
the ChannelInput union), `postcall.channels.twilio`, `postcall.channels.events`.  The Twilio
simulator and the events client are developer tools: `postcall.devtools`.
"""
