// Command pocketbase is PocketBase as its own module documents it, built
// from a pinned version for the load harness's side-by-side runs. It is a
// module of its own, so the gateway's go.mod never carries PocketBase.
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	if err := pocketbase.New().Start(); err != nil {
		log.Fatal(err)
	}
}
