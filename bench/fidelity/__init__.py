"""The fidelity corpus and scorer: generated documents with exact ground truth.

``corpus.generate(kind, directory, seed)`` writes documents of one kind (pdf, docx, xlsx, pptx,
html) and returns each with its ``Truth``; ``score.score(text, truth)`` measures what a tool
made of it. ``bench/fidelity.py`` runs the whole corpus for ingestd and the peers;
``tests/pipeline/test_fidelity.py`` runs a slice with thresholds.
"""
