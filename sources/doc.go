// Package sources defines what every identity source yields: Records, read
// through a Reader that says whether the read was complete (a full snapshot)
// or a delta. Only a complete read may lead to disables (DESIGN invariant 1),
// so a Reader that stops early for any reason must report it through Err and
// never as a shorter complete read.
//
// Implementations live below: sources/csvsource, sources/ldapsource. The
// conformance suite every implementation passes is sources/sourcetest.
package sources
