"""The watchlists app's services, one module a job; each state change checks the policy and writes its audit entry in
its transaction.

- custody: subjects and their custody images (retrospective search enrols the same images)
- watchlists: watchlists compiled from them, their approval workflow, expiry and purge
- erasure: a subject or a custody image erased with every copy (DPA 2018 s.47), receipts in the log
- restriction: restriction of a subject's processing (DPA 2018 s.47), which keeps them off lists and out of matching
- image_keys: custody images under their subject's data key, destroyed with the subject (crypto-shredding)
"""
