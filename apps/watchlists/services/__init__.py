"""The watchlists app's services, one module a job; each state change checks the policy and writes its audit entry in
its transaction.

- custody: subjects and their custody images (retrospective search enrols the same images)
- watchlists: watchlists compiled from them, their approval workflow, expiry and purge
"""
