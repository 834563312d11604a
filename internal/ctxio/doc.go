// Package ctxio makes blocking file reads honour a context: a read stuck on
// a FIFO nobody writes to, or on a dead NFS mount, returns the context's
// error as soon as the context ends (SIGTERM), instead of holding the
// process until the kernel gives up. The blocked system call itself cannot
// be interrupted; it is abandoned in its goroutine, which closes the file
// once the call returns.
package ctxio
