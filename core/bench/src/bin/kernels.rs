//! Which of wspc's SIMD kernels this CPU runs, as one JSON object on stdout, asked of
//! `wspc-simd`'s own run-time dispatch (`scripts/bench.sh` puts it in the report):
//! `{"mask": "avx2" | "portable", "utf8": "avx512" | "simdutf8"}`.

fn main() {
    let mask = if wspc_simd::uses_avx2() {
        "avx2"
    } else {
        "portable"
    };
    let utf8 = if wspc_simd::uses_avx512_utf8() {
        "avx512"
    } else {
        "simdutf8"
    };
    println!("{{\"mask\": \"{mask}\", \"utf8\": \"{utf8}\"}}");
}
