package engine_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"nucleus/attach"
	"nucleus/state/engine"
)

// Find a container by the name its engine gave it and run a command in it,
// as `docker exec web hostname` would.
func ExampleFind() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := engine.Find(ctx, "web")
	var amb *engine.AmbiguousError
	switch {
	case errors.As(err, &amb):
		for _, c := range amb.Candidates {
			fmt.Println("candidate:", c.Engine, c.Name, c.ID)
		}
		return
	case err != nil:
		fmt.Println(err)
		return
	}
	code, err := attach.Attach(st, []string{"hostname"})
	fmt.Println(code, err)
}

// List what every engine shows.
func ExampleList() {
	list, err := engine.List(context.Background())
	for _, c := range list {
		fmt.Println(c.Engine, c.Name, c.ID, c.PID, c.Status)
	}
	if err != nil {
		fmt.Println(err)
	}
}
