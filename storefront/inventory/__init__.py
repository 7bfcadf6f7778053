"""Stock, variants' stock, a stand's fair stock and holds: the one place stock changes.

Every change is a delta with a reason, made by one conditional UPDATE that can
never go below zero, and in the caller's transaction it also writes the stock
history row, the search-outbox row and the catalogue-version note (see
services.py). Nothing outside this package writes a stock column; a test walks
the code base for it.
"""
