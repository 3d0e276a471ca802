#!/usr/bin/env python3
"""A real gRPC server (grpcio) on loopback for preflight's tests. Prints "PORT <n>" once listening and serves
until its stdin closes (or SIGTERM).

  grpc-fixture.py [--proto FILE]          the service(s) of FILE (default Tests/Fixtures/grpc/events.proto), compiled
                                          at start-up with grpc_tools.protoc into a temporary dir (removed once read);
                                          unary methods answer a fixed message (ok=true, the request's id),
                                          server-streaming methods answer 3 messages
                  [--without Events/SendEvent]   (repeatable) serve the proto with that rpc removed: the server's own,
                                          older proto, as reflection describes it; a call gets the real UNIMPLEMENTED
                  [--no-reflection]       no reflection service (default: grpc.reflection.v1 and v1alpha)
                  [--reflection-only v1alpha|v1]   serve one reflection version (grpcio's stock servicer is v1alpha only)
                  [--health SERVING|NOT_SERVING|none]   grpc.health.v1 for "" and every served service (default SERVING)
                  [--tls CERT KEY]        TLS with that certificate and key (PEM files) instead of plaintext
                  [--max-streams N]       grpc.max_concurrent_streams (HTTP/2 SETTINGS) per connection
                  [--delay-ms N]          each unary call sleeps N ms before answering
                  [--tally FILE]          after each call, atomically write {"calls": {"events.Events/Send": n, …},
                                          "other": {"grpc.health.v1.Health/Check": n, …}, "unimplemented": {…},
                                          "peak_in_flight": n}: application calls, health/reflection calls, calls
                                          to methods not served, most application calls in progress at once
                  [--port N]              listen on N instead of an ephemeral port

Exit status 2 with one line on stderr for a bad option, an unreadable or invalid proto, an unknown --without.
"""
import os, sys

# Close descriptors inherited from the test process, so we never hold another test's pipe open.
for fd in map(int, os.listdir("/proc/self/fd")):
    if fd > 2:
        try:
            os.close(fd)
        except OSError:
            pass

import argparse, json, shutil, signal, tempfile, threading, time
from concurrent import futures


def fail(message):
    print("grpc-fixture: " + message, file=sys.stderr, flush=True)
    sys.exit(2)


parser = argparse.ArgumentParser(prog="grpc-fixture.py", add_help=True)
here = os.path.dirname(os.path.abspath(__file__))
parser.add_argument("--proto", default=os.path.join(here, "grpc", "events.proto"))
parser.add_argument("--without", action="append", default=[])
parser.add_argument("--no-reflection", action="store_true")
parser.add_argument("--reflection-only", choices=["v1", "v1alpha"])
parser.add_argument("--health", default="SERVING", choices=["SERVING", "NOT_SERVING", "none"])
parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
parser.add_argument("--max-streams", type=int)
parser.add_argument("--delay-ms", type=int, default=0)
parser.add_argument("--tally")
parser.add_argument("--port", type=int, default=0)
opts = parser.parse_args()

try:
    import grpc
    from grpc_tools import protoc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection, reflection_pb2
except ImportError as e:
    fail("needs grpcio, grpcio-tools, grpcio-health-checking, grpcio-reflection (scripts/install-deps.sh): %s" % e)

if not os.path.isfile(opts.proto):
    fail("no proto file %s" % opts.proto)

workdir = tempfile.mkdtemp(prefix="pf-grpc-")
server = None


def cleanup():
    if server is not None:
        server.stop(0)
    shutil.rmtree(workdir, ignore_errors=True)


def on_term(signum, frame):
    raise SystemExit(0)


signal.signal(signal.SIGTERM, on_term)

try:
    # Compile the proto into a descriptor set (with its imports), in our temporary directory.
    import importlib.resources
    well_known = str(importlib.resources.files("grpc_tools") / "_proto")
    descriptor_set = os.path.join(workdir, "set.pb")
    proto_dir = os.path.dirname(os.path.abspath(opts.proto))
    status = protoc.main(["grpc_tools.protoc", "-I" + proto_dir, "-I" + well_known, "--include_imports",
                          "--descriptor_set_out=" + descriptor_set, os.path.abspath(opts.proto)])
    if status != 0:
        fail("protoc could not compile %s (its error is above)" % opts.proto)
    files = descriptor_pb2.FileDescriptorSet()
    with open(descriptor_set, "rb") as f:
        files.ParseFromString(f.read())
    # Nothing else is read from it: gone now, so even a SIGKILLed fixture leaves no folder behind.
    shutil.rmtree(workdir, ignore_errors=True)
    main_file = files.file[-1]  # --include_imports lists dependencies first

    # --without: remove the rpc from the server's own copy of the proto.
    for name in opts.without:
        service_name, _, method_name = name.strip("/").rpartition("/")
        removed = False
        for service in main_file.service:
            full = (main_file.package + "." if main_file.package else "") + service.name
            if service_name in (service.name, full):
                for i, method in enumerate(service.method):
                    if method.name == method_name:
                        del service.method[i]
                        removed = True
                        break
        if not removed:
            fail("--without %s: no such rpc in %s" % (name, opts.proto))

    pool = descriptor_pool.DescriptorPool()
    for fdp in files.file:
        pool.Add(fdp)
    # Health and reflection describe themselves too (k6's reflect: true resolves every listed service).
    for module in (health_pb2, reflection_pb2):
        fdp = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(fdp)
        if fdp.name not in [f.name for f in files.file]:
            pool.Add(fdp)
    # grpc_reflection ships only v1alpha; v1 is the same protocol under another package name.
    v1 = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(v1)
    v1.name = "grpc/reflection/v1/reflection.proto"
    v1.package = "grpc.reflection.v1"
    for message in v1.message_type:
        for field in message.field:
            if field.type_name:
                    field.type_name = field.type_name.replace(".grpc.reflection.v1alpha.", ".grpc.reflection.v1.")
    for service in v1.service:
        for method in service.method:
            method.input_type = method.input_type.replace(".v1alpha.", ".v1.")
            method.output_type = method.output_type.replace(".v1alpha.", ".v1.")
    v1.options.Clear()
    pool.Add(v1)

    lock = threading.Lock()
    tally = {"calls": {}, "other": {}, "unimplemented": {}, "peak_in_flight": 0}
    in_flight = [0]

    def write_tally():
        tmp = opts.tally + ".tmp"
        with open(tmp, "w") as f:
            json.dump(tally, f, sort_keys=True)
        os.replace(tmp, opts.tally)

    def enter():
        with lock:
            in_flight[0] += 1
            tally["peak_in_flight"] = max(tally["peak_in_flight"], in_flight[0])

    def count(kind, method):
        with lock:
            if kind == "calls":
                in_flight[0] -= 1
            if not opts.tally:
                return
            tally[kind][method] = tally[kind].get(method, 0) + 1
            write_tally()

    def answer(out_class, request, index=None):
        reply = out_class()
        fields = reply.DESCRIPTOR.fields_by_name
        req_fields = request.DESCRIPTOR.fields_by_name
        if "ok" in fields and fields["ok"].type == fields["ok"].TYPE_BOOL:
            reply.ok = True
        for name in ("id", "kind"):
            if name in fields and fields[name].type == fields[name].TYPE_STRING:
                if index is not None and name == "id":
                    setattr(reply, name, "event-%d" % (index + 1))
                elif name in req_fields and req_fields[name].type == fields[name].TYPE_STRING:
                    setattr(reply, name, getattr(request, name))
        if "at" in fields and fields["at"].type == fields["at"].TYPE_INT64 and index is not None:
            reply.at = 1700000000 + index
        return reply

    def handlers_for(service, full_service):
        methods = {}
        for m in service.method:
            in_class = message_factory.GetMessageClass(pool.FindMessageTypeByName(m.input_type.lstrip(".")))
            out_class = message_factory.GetMessageClass(pool.FindMessageTypeByName(m.output_type.lstrip(".")))
            path = full_service + "/" + m.name
            ser = out_class.SerializeToString
            de = in_class.FromString

            def unary(request, context, out_class=out_class, path=path):
                enter()
                if opts.delay_ms:
                    time.sleep(opts.delay_ms / 1000)
                reply = answer(out_class, request)
                count("calls", path)
                return reply

            def server_stream(request, context, out_class=out_class, path=path):
                enter()
                for i in range(3):
                    yield answer(out_class, request, i)
                count("calls", path)

            def client_stream(requests, context, out_class=out_class, path=path):
                enter()
                last = None
                for r in requests:
                    last = r
                reply = answer(out_class, last) if last is not None else out_class()
                count("calls", path)
                return reply

            def bidi(requests, context, out_class=out_class, path=path):
                enter()
                for r in requests:
                    yield answer(out_class, r)
                count("calls", path)

            if m.client_streaming and m.server_streaming:
                methods[m.name] = grpc.stream_stream_rpc_method_handler(bidi, de, ser)
            elif m.client_streaming:
                methods[m.name] = grpc.stream_unary_rpc_method_handler(client_stream, de, ser)
            elif m.server_streaming:
                methods[m.name] = grpc.unary_stream_rpc_method_handler(server_stream, de, ser)
            else:
                methods[m.name] = grpc.unary_unary_rpc_method_handler(unary, de, ser)
        return grpc.method_handlers_generic_handler(full_service, methods)

    class Recorder(grpc.GenericRpcHandler):
        """Counts every call the handlers before it did not take; returns None so grpc answers UNIMPLEMENTED itself."""

        def service(self, details):
            count("unimplemented", details.method.lstrip("/"))
            return None

    class CountingServicer(grpc.ServerInterceptor):
        """Counts health and reflection calls (the "other" calls)."""

        def intercept_service(self, continuation, details):
            method = details.method.lstrip("/")
            handler = continuation(details)
            if handler is not None and (method.startswith("grpc.health.") or method.startswith("grpc.reflection.")):
                count("other", method)
            return handler

    options = [("grpc.so_reuseport", 0)]
    if opts.max_streams is not None:
        options.append(("grpc.max_concurrent_streams", opts.max_streams))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64), options=options,
                         interceptors=[CountingServicer()])

    served = []
    for service in main_file.service:
        full = (main_file.package + "." if main_file.package else "") + service.name
        served.append(full)
        server.add_generic_rpc_handlers((handlers_for(service, full),))

    if opts.health != "none":
        health_servicer = health.HealthServicer()
        status = getattr(health_pb2.HealthCheckResponse, opts.health)
        for name in [""] + served:
            health_servicer.set(name, status)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)

    if not opts.no_reflection:
        versions = [opts.reflection_only] if opts.reflection_only else ["v1", "v1alpha"]
        names = served + ([health.SERVICE_NAME] if opts.health != "none" else []) \
            + ["grpc.reflection.%s.ServerReflection" % v for v in versions]
        servicer = reflection.ReflectionServicer(names, pool=pool)
        if "v1alpha" in versions:
            reflection_pb2_grpc = __import__("grpc_reflection.v1alpha.reflection_pb2_grpc", fromlist=["x"])
            reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
        if "v1" in versions:
            server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("grpc.reflection.v1.ServerReflection", {
                "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                    servicer.ServerReflectionInfo,
                    reflection_pb2.ServerReflectionRequest.FromString,
                    reflection_pb2.ServerReflectionResponse.SerializeToString)}),))

    server.add_generic_rpc_handlers((Recorder(),))

    address = "127.0.0.1:%d" % opts.port
    if opts.tls:
        try:
            with open(opts.tls[0], "rb") as f:
                cert = f.read()
            with open(opts.tls[1], "rb") as f:
                key = f.read()
        except OSError as e:
            fail("--tls: %s" % e)
        port = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
    else:
        port = server.add_insecure_port(address)
    if not port:
        fail("cannot listen on %s" % address)
    server.start()
    print("PORT", port, flush=True)
    while sys.stdin.buffer.read(4096):
        pass
finally:
    cleanup()
