# Decoder timing loops (bench_parse_decimal, bench_decode) move here from _parse.pyx with
# the parser split; their `from fastfeed._parse cimport ...` lines belong in this file.
