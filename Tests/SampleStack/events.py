"""The sample stack's gRPC event handler (grpcio): events.Events from proto/events.proto, with the standard health
and reflection services, on 127.0.0.1.

  events.py PORT [--previous-release]

--previous-release serves the proto without SendEvent (the release before the one the load script was written
for): reflection describes it, and every SendEvent call answers UNIMPLEMENTED. Prints "PORT n" once listening; stops
on SIGTERM."""
import os, re, shutil, signal, sys, tempfile, threading
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_tools import protoc

here = os.path.dirname(os.path.abspath(__file__))
port = int(sys.argv[1])
previous = "--previous-release" in sys.argv[2:]

# Compile the proto (or the previous release's: SendEvent removed) into a scratch folder, then import it.
scratch = tempfile.mkdtemp(prefix="sample-events-")
text = open(os.path.join(here, "proto", "events.proto")).read()
if previous:
    text = re.sub(r"\n[^\n]*\n  rpc SendEvent\(Event\) returns \(Ack\);", "", text)
open(os.path.join(scratch, "events.proto"), "w").write(text)
if protoc.main(["protoc", f"-I{scratch}", f"--python_out={scratch}", f"--grpc_python_out={scratch}", "events.proto"]) != 0:
    sys.exit("events.py: protoc failed")
sys.path.insert(0, scratch)
import events_pb2, events_pb2_grpc  # noqa: E402


class Events(events_pb2_grpc.EventsServicer):
    def Send(self, request, context):
        return events_pb2.Ack(accepted=True)

    def SendEvent(self, request, context):
        return events_pb2.Ack(accepted=True)


server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
events_pb2_grpc.add_EventsServicer_to_server(Events(), server)
status = health.HealthServicer()
health_pb2_grpc.add_HealthServicer_to_server(status, server)
for name in ("", "events.Events"):
    status.set(name, health_pb2.HealthCheckResponse.SERVING)
reflection.enable_server_reflection(["events.Events", health.SERVICE_NAME, reflection.SERVICE_NAME], server)
bound = server.add_insecure_port(f"127.0.0.1:{port}")
server.start()
print(f"PORT {bound}", flush=True)

done = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: done.set())
signal.signal(signal.SIGINT, lambda *_: done.set())
done.wait()
server.stop(0.5).wait()
shutil.rmtree(scratch, ignore_errors=True)
