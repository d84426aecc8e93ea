"""The accounts app's services, one module a job; each state change checks the policy and writes its audit entry in
its transaction.

- accounts: users, roles, passwords, API tokens, and the four-eyes changes a second administrator approves
- lockout: sign-in paused after repeated failures, and lifted
- two_factor: enrolling an authenticator app, verifying its codes, and an administrator's reset
"""
