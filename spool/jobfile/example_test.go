package jobfile_test

import (
	"fmt"

	"github.com/cardd/cardd/spool/jobfile"
)

func ExampleParse() {
	j, err := jobfile.Parse("job.toml", []byte(`
id = "CASE-7"
template = "temporary"
photo = "../../etc/shadow"
`))
	fmt.Println(j, err)
	// Output: <nil> job file job.toml: job "CASE-7": field photo: path escapes the job directory: "../../etc/shadow" contains ".."
}
