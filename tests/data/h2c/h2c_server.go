// A cleartext HTTP/2 server for the captures: golang.org/x/net/http2/h2c
// accepts both prior knowledge and the HTTP/1.1 Upgrade (nghttpd answers
// an Upgrade request with HTTP/2 frames, which clients reject).
package main

import (
	"net/http"
	"os"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello\n"))
	})
	srv := &http.Server{Addr: os.Args[1], Handler: h2c.NewHandler(hello, &http2.Server{})}
	if err := srv.ListenAndServe(); err != nil {
		os.Exit(1)
	}
}
