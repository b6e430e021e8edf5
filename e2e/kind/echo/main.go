// echo: the e2e test backend and probe, one static binary (stdlib only) in the
// portico/e2e-echo image.
//
//	echo serve [-port 8080]            TCP and UDP on the same port; every reply is one line
//	                                    "<hostname> <client ip> <request>"
//	echo probe tcp|udp HOST:PORT [MSG]  sends MSG (default "ping"), prints the reply line;
//	                                    exit 1 on no reply within -timeout (default 2s)
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func reply(req string, from net.Addr) string {
	host, _ := os.Hostname()
	ip := from.String()
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	return fmt.Sprintf("%s %s %s\n", host, ip, strings.TrimSpace(req))
}

func serve(port int) error {
	addr := fmt.Sprintf(":%d", port)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "echo: serving tcp and udp on %s\n", addr)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo([]byte(reply(string(buf[:n]), from)), from)
		}
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte(reply(line, c.RemoteAddr())))
		}(c)
	}
}

func probe(proto, target, msg string, timeout time.Duration) error {
	c, err := net.DialTimeout(proto, target, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	fmt.Print(string(buf[:n]))
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: echo serve [-port N] | echo probe [-timeout D] tcp|udp HOST:PORT [MSG]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		port := fs.Int("port", 8080, "TCP and UDP port")
		_ = fs.Parse(os.Args[2:])
		if err := serve(*port); err != nil {
			fmt.Fprintln(os.Stderr, "echo:", err)
			os.Exit(1)
		}
	case "probe":
		fs := flag.NewFlagSet("probe", flag.ExitOnError)
		timeout := fs.Duration("timeout", 2*time.Second, "connect and reply timeout")
		_ = fs.Parse(os.Args[2:])
		a := fs.Args()
		if len(a) < 2 || (a[0] != "tcp" && a[0] != "udp") {
			fmt.Fprintln(os.Stderr, "usage: echo probe [-timeout D] tcp|udp HOST:PORT [MSG]")
			os.Exit(2)
		}
		msg := "ping"
		if len(a) > 2 {
			msg = a[2]
		}
		if err := probe(a[0], a[1], msg, *timeout); err != nil {
			fmt.Fprintln(os.Stderr, "echo: probe:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "echo: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}
