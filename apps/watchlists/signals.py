"""Signals the apps above watchlists listen to, so this app never imports them."""

from django.dispatch import Signal

# Sent after the transaction that approved a watchlist commits: watchlist_id, approved_hash.
watchlist_approved = Signal()

# Sent after the transaction that stored a custody image commits: image_id (retrospective search enrols it).
custody_image_uploaded = Signal()

# Sent inside the transaction that purges a watchlist, before it commits: watchlist_id. Receivers delete what
# they hold for the list (templates) and log it in the same transaction, so a purge is all or nothing.
watchlist_purging = Signal()
