"""The assistant's own Rasa NLU components and the rules behind them.

`entity_extractor` finds entities with spaCy and `normalisers` turns them into values;
`e5_featurizer` adds sentence embeddings; `response_selector` picks the privacy topic;
`language` tells Norwegian from English.
"""
