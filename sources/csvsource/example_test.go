package csvsource_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
)

// A read of a semicolon-separated HR export whose group cell holds
// comma-separated values. Rejected rows are reported, never synced, and the
// read goes on; only Err decides whether the read was complete.
func Example() {
	dir, err := os.MkdirTemp("", "csvsource-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "users.csv")
	data := "EmployeeID;Mail;Groups\n1001;ann@example.org;staff, sales\n1002;;staff\n;nokey@example.org;\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		panic(err)
	}

	src, err := csvsource.New(csvsource.Config{
		Path:                path,
		Key:                 "employeeId",
		Delimiter:           ";",
		MultiValueSeparator: ",",
	}, zap.NewNop())
	if err != nil {
		panic(err)
	}
	r, err := src.Open(context.Background(), sources.ReadRequest{})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	for r.Next() {
		rec := r.Record()
		if rec.Reject != "" {
			fmt.Printf("%s: rejected: %s\n", rec.Pos, rec.Reject)
			continue
		}
		fmt.Printf("%s: %s mail=%q groups=%q\n", rec.Pos, rec.Anchor, rec.Get("mail"), rec.Attrs["groups"])
	}
	if err := r.Err(); err != nil {
		fmt.Println("incomplete read:", err)
		return
	}
	fmt.Println("complete", r.Mode())
	// Output:
	// line 2: 1001 mail="ann@example.org" groups=["staff" "sales"]
	// line 3: 1002 mail="" groups=["staff"]
	// line 4: rejected: empty key column "employeeid"
	// complete full
}
