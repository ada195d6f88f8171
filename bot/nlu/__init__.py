"""Norwegian and English entity extraction for the Rasa pipeline.

`normalisers` holds the pure parsing rules; `entity_extractor` is the Rasa component that finds
candidate spans with spaCy and hands them to the normalisers.
"""
