"""The embedded default provider: no language model, no key, no network.

It decides by meaning with a small offline embedding model (`meaning`), picks what is clearly
best supported and nothing for a message no condition covers (`decision`), and says only
approved text: canned responses with their fields, or the agent's no-match template
(`composing`). Everything the local provider does lives in this package; the engine talks to
it only through the NLPService protocol in engine/ports.py, like any other provider.
"""

from engine.nlp.local.service import LocalNLPService

__all__ = ["LocalNLPService"]
