// Package arrowguard reads untrusted Arrow IPC and Parquet files safely: it bounds the memory
// the arrow-go readers may allocate, and turns the panics those readers raise on corrupt input
// into errors.
//
// arrow-go trusts the lengths written in a file: a byte-mutated file of 1.5 KB can ask for
// hundreds of gigabytes, or make a reader slice past the end of a buffer. sftlab reads
// datasets that users bring and metrics files that a killed process may have left damaged, so
// every read goes through [Read] with an [Allocator] sized from the file ([Budget]).
package arrowguard
