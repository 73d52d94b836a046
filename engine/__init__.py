"""The response engine: pure Python, no Django (tests/engine/test_purity.py checks).

Public surface:
    engine.engine.Engine(nlp, tools=None, hooks=None, retrievers=None, clock=None)
        .process_turn(turn, sink, cancellation) -> TurnOutcome
    engine.nlp.local.LocalNLPService()        deterministic provider, no network
    engine.tools: tool, ToolContext, ToolResult, ToolRegistry, default_registry
    engine.hooks: EngineHooks, HookAction, MatchingPayload, MessagePayload
    engine.retrievers: RetrieverContext, RetrieverResult
    NLPService.embed(texts) / .embedding_model  vectors to store in Guideline.condition_embedding
    engine.candidates                          which conditions the judging call sees
    engine.types / engine.ports / engine.errors
"""
