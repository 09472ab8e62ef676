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
