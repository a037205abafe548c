"""transforms.net: HTTP for the stages that talk to the network (feed fetching, webhook delivery).

* ``aio``: ``BackgroundLoop`` -- one asyncio loop on a thread, so that network waits never block a Beam stage.
* ``client``: ``BackgroundClient`` -- an ``httpx.AsyncClient`` on that loop.
* ``retry``: the one retry policy -- which statuses are retried, ``Retry-After`` (seconds or an HTTP date,
  capped), exponential backoff with jitter.
"""
