"""Signals the apps above watchlists listen to, so this app never imports them.

Each is sent inside the transaction of the change, before it commits. A receiver changes data only in that
transaction (through its own app's services) and queues work through the outbox (apps/outbox), which sends it after
commit: so the change and what it calls for commit together or not at all, and a broker that is down loses nothing.
"""

from django.dispatch import Signal

# Sent inside the transaction that approves a watchlist: watchlist_id, approved_hash (matching queues enrolment).
watchlist_approved = Signal()

# Sent inside the transaction that stores a custody image: image_id (retrospective search queues its enrolment).
custody_image_uploaded = Signal()

# Sent inside the transaction that purges a watchlist, before it commits: watchlist_id. Receivers delete what
# they hold for the list (templates) and log it in the same transaction, so a purge is all or nothing.
watchlist_purging = Signal()

# Sent inside the transaction that erases custody images (one image, or all of a subject's), before any row of the
# watchlists app goes: image_ids, subject_id. Receivers delete their copies of the images (templates, projections)
# and log a receipt in the same transaction; raising refuses the erasure, which then changes nothing.
custody_images_erasing = Signal()

# Sent inside the transaction that erases a subject, after `custody_images_erasing` for their images: subject_id.
# Receivers delete what they hold of the person (watchlist templates) or raise to refuse (evidence they must keep).
subject_erasing = Signal()
