#![no_main]

wspc_fuzz::target!(utf8_stream);
