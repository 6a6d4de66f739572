#![no_main]

wspc_fuzz::target!(handshake_response);
