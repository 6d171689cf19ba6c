"""Node handlers: one function per node kind, looked up by the node's model class."""

from __future__ import annotations

from typing import Any

from postcall.engine.interpreter import Handler
from postcall.engine.nodes.backend import run_flow, run_http, run_log
from postcall.engine.nodes.connector import run_connector
from postcall.engine.nodes.dialogs import (
    run_begin_dialog,
    run_cancel_all,
    run_cancel_dialog,
    run_end_conversation,
    run_end_dialog,
    run_goto,
    run_repeat_dialog,
    run_replace_dialog,
)
from postcall.engine.nodes.generative import run_generative, run_prompt
from postcall.engine.nodes.messages import run_emit_event, run_send_activity
from postcall.engine.nodes.question import run_question
from postcall.engine.nodes.transfer import run_transfer
from postcall.engine.nodes.variables import (
    run_clear_all,
    run_edit_table,
    run_edit_table_v2,
    run_parse_value,
    run_reset_variable,
    run_set_multiple,
    run_set_text_variable,
    run_set_variable,
)
from postcall.engine.nodes.voice import run_create_search_query, run_oauth_input, run_voice_form
from postcall.topics import model as m

HANDLERS: dict[type[Any], Handler] = {
    m.SendActivity: run_send_activity,
    m.EmitEvent: run_emit_event,
    m.Question: run_question,
    m.CSATQuestion: run_question,
    m.VoiceForm: run_voice_form,
    m.OAuthInput: run_oauth_input,
    m.CreateSearchQuery: run_create_search_query,
    m.SetVariable: run_set_variable,
    m.SetTextVariable: run_set_text_variable,
    m.SetMultipleVariables: run_set_multiple,
    m.ParseValue: run_parse_value,
    m.ResetVariable: run_reset_variable,
    m.ClearAllVariables: run_clear_all,
    m.EditTable: run_edit_table,
    m.EditTableV2: run_edit_table_v2,
    m.BeginDialog: run_begin_dialog,
    m.ReplaceDialog: run_replace_dialog,
    m.RepeatDialog: run_repeat_dialog,
    m.EndDialog: run_end_dialog,
    m.CancelDialog: run_cancel_dialog,
    m.CancelAllDialogs: run_cancel_all,
    m.GotoAction: run_goto,
    m.EndConversation: run_end_conversation,
    m.HttpRequestAction: run_http,
    m.InvokeFlowAction: run_flow,
    m.InvokeConnectorAction: run_connector,
    m.LogCustomTelemetryEvent: run_log,
    m.TransferConversation: run_transfer,
    m.GenerativeAnswers: run_generative,
    m.InvokePrompt: run_prompt,
}

BACKEND_KINDS = (
    m.HttpRequestAction, m.InvokeFlowAction, m.InvokeConnectorAction, m.LogCustomTelemetryEvent,
    m.InvokePrompt,
)
