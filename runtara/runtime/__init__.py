"""The runtime service: durable store, instance protocol, management API, embedded runtime.

* ``store``    -- SQLite (group commit) and PostgreSQL behind one set of operations;
* ``api``      -- the FastAPI app (``instance`` protocol, ``management``, tenants, connections);
* ``server``   -- ``runtara server`` on uvicorn; ``embedded`` -- the same in a thread;
* ``PROTOCOL.md`` -- what an instance says to the runtime, and what each answer means.
"""
