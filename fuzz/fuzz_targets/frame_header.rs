#![no_main]

wspc_fuzz::target!(frame_header);
