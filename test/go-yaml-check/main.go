// go-yaml-check decodes YAML files the way Kubernetes components do and prints what Go read, as
// canonical JSON (object keys sorted), so tests can compare it with the values cdk8s-audit meant.
//
//	go-yaml-check FILE...   prints {"FILE": [document, ...], ...}; exit 1 naming the file on a decode error
//
// Documents are split on lines starting with "---" as k8s.io/apimachinery's YAMLReader does, and
// each is decoded with sigs.k8s.io/yaml's YAMLToJSON (go-yaml v2's YAML 1.1 resolver), the path
// kubeconfigs, audit policies, kubeadm and kind configs take.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// splitDocuments mirrors apimachinery's YAMLReader: a line starting with "---" followed only by
// spaces or a comment ends a document.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "---") {
			rest := strings.TrimSpace(line[3:])
			if rest == "" || strings.HasPrefix(rest, "#") {
				docs = append(docs, append([]byte(nil), cur.Bytes()...))
				cur.Reset()
				continue
			}
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	out := docs[:0]
	for _, d := range docs {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

func decode(path string) ([]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	docs := []interface{}{}
	for i, d := range splitDocuments(data) {
		j, err := yaml.YAMLToJSON(d)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var v interface{}
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		docs = append(docs, v)
	}
	return docs, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-yaml-check FILE...")
		os.Exit(2)
	}
	out := map[string]interface{}{}
	for _, path := range os.Args[1:] {
		docs, err := decode(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "go-yaml-check: %s: %v\n", path, err)
			os.Exit(1)
		}
		out[path] = docs
	}
	b, err := json.Marshal(out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go-yaml-check: %v\n", err)
		os.Exit(1)
	}
	os.Stdout.Write(append(b, '\n'))
}
