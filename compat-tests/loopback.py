"""Helpers shared by the compat tests' scripts."""
import socket


def free_port():
    """A loopback port free for both TCP and UDP (xdpkv binds both)."""
    while True:
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            try:
                udp.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
