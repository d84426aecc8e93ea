"""Signals the apps above deployments listen to, so this app never imports them.

Each is sent inside the transaction of the change, before it commits; a receiver changes data only in that
transaction, through its own app's services, so the change and what it calls for commit together or not at all.
"""

from django.dispatch import Signal

# Sent inside the transaction that retires a van or camera: asset, actor (matching revokes its camera credentials).
asset_retired = Signal()
