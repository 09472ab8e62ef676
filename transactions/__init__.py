"""`POST /api/transactions`: several operations of several apps in one database transaction
(`services`: the executor, `views`: the endpoint)."""
