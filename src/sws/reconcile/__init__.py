"""The reconciler (`sws worker reconcile`): repairs drift between SWS and the real cloud."""
