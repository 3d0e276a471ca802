#!/usr/bin/env python3
"""A real FastAPI service on loopback for the api check's live tests: it publishes its generated OpenAPI 3.1
document at /openapi.json (FastAPI's default) and a Swagger 2.0 description of its /legacy routes at
/legacy/swagger.json. Prints "PORT N" once listening on 127.0.0.1 (an ephemeral port); exits when stdin closes."""
import os
import socket
import sys
import threading

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI(title="chat")


class NewMessage(BaseModel):
    text: str
    author: str = "k6"


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/api/v1/conversations/{conversation_id}")
def conversation(conversation_id: int):
    return {"id": conversation_id}


@app.delete("/api/v1/conversations/{conversation_id}", status_code=204)
def close_conversation(conversation_id: int):
    return None


@app.get("/api/v1/conversations/{conversation_id}/messages")
def messages(conversation_id: int):
    return [{"id": 1, "text": "hello"}]


@app.post("/api/v1/conversations/{conversation_id}/messages", status_code=201)
def post_message(conversation_id: int, m: NewMessage):
    return {"id": 2, "text": m.text}


@app.get("/legacy/pets/{pet_id}")
def pet(pet_id: int):
    return {"id": pet_id}


SWAGGER = {
    "swagger": "2.0",
    "info": {"title": "legacy", "version": "1"},
    "basePath": "/legacy",
    "paths": {
        "/pets/{petId}": {"get": {"parameters": [{"name": "petId", "in": "path", "required": True, "type": "integer"}],
                                  "responses": {"200": {"description": "ok"}}}},
        "/pets": {"post": {"parameters": [{"name": "pet", "in": "body", "schema": {"$ref": "#/definitions/Pet"}}],
                           "responses": {"201": {"description": "made"}}}},
    },
    "definitions": {"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
}


@app.get("/legacy/swagger.json", include_in_schema=False)
def swagger():
    return SWAGGER


def main():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
