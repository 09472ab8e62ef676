"""`POST /api/transactions`: several operations of several apps in one database transaction
(`operations`: each operation run exactly as its own endpoint would run it, in one `transaction.atomic`;
`views`: the endpoint)."""
