// Package claim lets one process at a time own a piece of work through a lock file, also when
// the processes run on different machines that share the folder.
//
// A lock is a file created with O_CREATE|O_EXCL, which is atomic on local file systems and on
// NFS (v3 and later), Lustre, GPFS and BeeGFS alike, holding the owner's host, pid, a random
// token and the time it was taken, as JSON. While held, a heartbeat refreshes the file's
// modification time. Release removes the file if it still holds the owner's token.
//
// # Stale locks
//
// A process killed without releasing leaves its lock file behind. The file counts as abandoned,
// and is taken over by the next process that tries, when
//
//   - it was written on this host and its pid no longer exists, or
//   - its heartbeat is older than Options.StaleAfter (default 5 minutes), whichever host wrote it.
//
// kill -9 on the same machine is thus noticed at once; a node that dies holding a lock frees it
// after StaleAfter. The rule assumes the hosts' clocks agree to well within StaleAfter.
//
// flock(2) was not used: on NFS mounted with nolock, or Lustre mounted with localflock, it
// silently locks only within one machine, which is the case this package exists for.
package claim
