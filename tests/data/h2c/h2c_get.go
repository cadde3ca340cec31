// Go's HTTP/2 client over cleartext (golang.org/x/net/http2 with
// AllowHTTP, the way gRPC-style Go clients speak h2c): one GET of the URL.
package main

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"

	"golang.org/x/net/http2"
)

func main() {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLS: func(network, addr string, _ *tls.Config) (net.Conn, error) {
			return net.Dial(network, addr)
		},
	}
	resp, err := (&http.Client{Transport: tr}).Get(os.Args[1])
	if err != nil {
		os.Exit(1)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
