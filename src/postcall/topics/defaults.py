"""Copilot Studio's default system topics, for agents that redirect to one they do not include.

An exported agent may call `<bot>.topic.EndofConversation` (or Escalate, StartOver,
ResetConversation, Signin) without shipping that topic: in Copilot Studio every agent has them.  Here
the loader adds our rendition of the default topic (docs/compatibility.md cites Microsoft's page
for each) under the name the agent used, with an info diagnostic, so the redirect runs Copilot
Studio's default behaviour instead of failing.  Each default is an OnSystemRedirect topic: it
starts only when redirected to, so it never changes how utterances are routed.
"""

from __future__ import annotations

BUILTIN_PATH = "<built-in>"

# The short topic names (after `.topic.`) Copilot Studio gives its system topics.
DEFAULT_TOPICS: dict[str, str] = {
    "EndofConversation": """\
kind: AdaptiveDialog
startBehavior: CancelOtherTopics
beginDialog:
  kind: OnSystemRedirect
  id: main
  actions:
    - kind: Question
      id: default_eoc_resolved
      alwaysPrompt: true
      variable: init:Topic.SurveyResponse
      prompt: Did that answer your question?
      entity: BooleanPrebuiltEntity
    - kind: ConditionGroup
      id: default_eoc_condition
      conditions:
        - id: default_eoc_yes
          condition: =Topic.SurveyResponse = true
          actions:
            - kind: CSATQuestion
              id: default_eoc_csat
              conversationOutcome: ResolvedConfirmed
            - kind: SendActivity
              id: default_eoc_thanks
              activity: Thanks for your feedback.
            - kind: Question
              id: default_eoc_more
              alwaysPrompt: true
              variable: init:Topic.Continue
              prompt: Can I help with anything else?
              entity: BooleanPrebuiltEntity
            - kind: ConditionGroup
              id: default_eoc_more_condition
              conditions:
                - id: default_eoc_more_yes
                  condition: =Topic.Continue = true
                  actions:
                    - kind: SendActivity
                      id: default_eoc_listening
                      activity: Go ahead. I'm listening.
              elseActions:
                - kind: SendActivity
                  id: default_eoc_goodbye
                  activity: Ok, goodbye.
                - kind: EndConversation
                  id: default_eoc_end
      elseActions:
        - kind: Question
          id: default_eoc_retry
          alwaysPrompt: true
          variable: init:Topic.TryAgain
          prompt: Sorry I wasn't able to help better. Would you like to try again?
          entity: BooleanPrebuiltEntity
        - kind: ConditionGroup
          id: default_eoc_retry_condition
          conditions:
            - id: default_eoc_retry_no
              condition: =Topic.TryAgain = false
              actions:
                - kind: SetVariable
                  id: default_eoc_confirmed_failure
                  variable: System.Conversation.Outcome
                  value: ConfirmedFailure
                - kind: SendActivity
                  id: default_eoc_failed
                  activity: I'm sorry I couldn't help. Goodbye.
                - kind: EndConversation
                  id: default_eoc_end_failed
          elseActions:
            - kind: SendActivity
              id: default_eoc_again
              activity: Go ahead. I'm listening.
""",
    "Escalate": """\
kind: AdaptiveDialog
beginDialog:
  kind: OnSystemRedirect
  id: main
  actions:
    - kind: SendActivity
      id: default_escalate_message
      conversationOutcome: Escalated
      activity: Transferring you to a person isn't set up for this line yet. Is there anything else I can help you with?
""",
    "StartOver": """\
kind: AdaptiveDialog
beginDialog:
  kind: OnSystemRedirect
  id: main
  actions:
    - kind: Question
      id: default_startover_confirm
      alwaysPrompt: true
      variable: init:Topic.Confirm
      prompt: Are you sure you want to restart the conversation?
      entity: BooleanPrebuiltEntity
    - kind: ConditionGroup
      id: default_startover_condition
      conditions:
        - id: default_startover_yes
          condition: =Topic.Confirm = true
          actions:
            - kind: SendActivity
              id: default_startover_ok
              activity: Ok. Let's begin again.
            - kind: ClearAllVariables
              id: default_startover_clear
              variables: ConversationScopedVariables
            - kind: CancelAllDialogs
              id: default_startover_cancel
      elseActions:
        - kind: SendActivity
          id: default_startover_no
          activity: Ok. Let's carry on.
""",
    "Signin": """\
kind: AdaptiveDialog
beginDialog:
  kind: OnSystemRedirect
  id: main
  actions:
    - kind: OAuthInput
      id: default_signin
      title: Login
      text: To continue, please login
""",
    "ResetConversation": """\
kind: AdaptiveDialog
startBehavior: UseLatestPublishedContentAndCancelOtherTopics
beginDialog:
  kind: OnSystemRedirect
  id: main
  actions:
    - kind: SendActivity
      id: default_reset_message
      activity: Ok. Let's start over.
    - kind: ClearAllVariables
      id: default_reset_clear
      variables: ConversationScopedVariables
    - kind: CancelAllDialogs
      id: default_reset_cancel
""",
}


def default_topic_name(ref: str) -> str | None:
    """The system topic a redirect target names (`x.topic.EndofConversation` ->
    `EndofConversation`), or None when it is not one with a default."""
    short = ref.strip().split(".topic.", 1)[-1]
    for name in DEFAULT_TOPICS:
        if short.lower() == name.lower():
            return name
    return None
