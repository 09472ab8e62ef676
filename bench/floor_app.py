"""The floor: a bare ASGI app answering a fixed JSON body, served by the same uvicorn as the API.

`bench/bench_requests.py` measures it in the same run and with the same client as the API, so the
ratio API / floor is the figure that travels between machines.
"""

BODY = b'{"hello":"world"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def application(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


_executor = None


def _nothing() -> bytes:
    return BODY


async def one_trip(scope, receive, send):
    """The floor plus one trip to a kept thread and back, as each API request makes (common/asgi_handler.py)."""
    global _executor
    if scope["type"] != "http":
        return
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import sync_to_async

    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=1)
    body = await sync_to_async(_nothing, thread_sensitive=False, executor=_executor)()
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": body})
