package dev.sdmesh.proto;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The contracts are the API's documentation: every message, field, oneof, enum, enum value, service and method in
 * {@code src/main/proto} carries a leading or trailing comment. Read from the descriptor set protoc writes with source
 * info (see the protobuf plugin's configuration in this module's POM).
 */
class ContractDocumentationTest {
    // Field numbers inside descriptor.proto, which is how SourceCodeInfo paths address declarations.
    private static final int FILE_MESSAGE = 4;
    private static final int FILE_ENUM = 5;
    private static final int FILE_SERVICE = 6;
    private static final int MESSAGE_FIELD = 2;
    private static final int MESSAGE_NESTED = 3;
    private static final int MESSAGE_ENUM = 4;
    private static final int MESSAGE_ONEOF = 8;
    private static final int ENUM_VALUE = 2;
    private static final int SERVICE_METHOD = 2;

    @Test
    void everyDeclarationHasAComment() throws IOException {
        FileDescriptorSet set = FileDescriptorSet.parseFrom(
                Files.readAllBytes(Path.of(System.getProperty("sdmesh.proto.descriptor-set"))));
        assertEquals(protoSources(), set.getFileList().stream().map(FileDescriptorProto::getName)
                .collect(Collectors.toCollection(TreeSet::new)), "the descriptor set must cover every .proto file");

        List<String> undocumented = new ArrayList<>();
        for (FileDescriptorProto file : set.getFileList()) {
            Set<List<Integer>> commented = file.getSourceCodeInfo().getLocationList().stream()
                    .filter(ContractDocumentationTest::hasComment)
                    .map(SourceCodeInfo.Location::getPathList)
                    .collect(Collectors.toSet());
            Checker checker = new Checker(file.getName(), commented, undocumented);
            for (int i = 0; i < file.getMessageTypeCount(); i++) {
                checker.message(file.getMessageType(i), List.of(FILE_MESSAGE, i), file.getPackage());
            }
            for (int i = 0; i < file.getEnumTypeCount(); i++) {
                checker.enumType(file.getEnumType(i), List.of(FILE_ENUM, i), file.getPackage());
            }
            for (int i = 0; i < file.getServiceCount(); i++) {
                var service = file.getService(i);
                List<Integer> path = List.of(FILE_SERVICE, i);
                checker.check(path, service.getName());
                for (int m = 0; m < service.getMethodCount(); m++) {
                    checker.check(append(path, SERVICE_METHOD, m), service.getName() + "." + service.getMethod(m).getName());
                }
            }
        }
        assertEquals(List.of(), undocumented, "declarations without a leading or trailing comment");
    }

    private record Checker(String file, Set<List<Integer>> commented, List<String> undocumented) {
        void check(List<Integer> path, String name) {
            if (!commented.contains(path)) undocumented.add(file + ": " + name);
        }

        void message(DescriptorProto message, List<Integer> path, String scope) {
            String name = scope + "." + message.getName();
            check(path, name);
            for (int f = 0; f < message.getFieldCount(); f++) {
                check(append(path, MESSAGE_FIELD, f), name + "." + message.getField(f).getName());
            }
            for (int o = 0; o < message.getOneofDeclCount(); o++) {
                if (!isSyntheticOneof(message, o)) {
                    check(append(path, MESSAGE_ONEOF, o), name + "." + message.getOneofDecl(o).getName());
                }
            }
            for (int n = 0; n < message.getNestedTypeCount(); n++) {
                // map<K, V> fields generate entry messages that have no source of their own.
                if (!message.getNestedType(n).getOptions().getMapEntry()) {
                    message(message.getNestedType(n), append(path, MESSAGE_NESTED, n), name);
                }
            }
            for (int e = 0; e < message.getEnumTypeCount(); e++) {
                enumType(message.getEnumType(e), append(path, MESSAGE_ENUM, e), name);
            }
        }

        void enumType(EnumDescriptorProto type, List<Integer> path, String scope) {
            String name = scope + "." + type.getName();
            check(path, name);
            for (int v = 0; v < type.getValueCount(); v++) {
                check(append(path, ENUM_VALUE, v), name + "." + type.getValue(v).getName());
            }
        }
    }

    /** proto3 {@code optional} fields are wrapped in a oneof of their own that is not written in the source. */
    private static boolean isSyntheticOneof(DescriptorProto message, int oneofIndex) {
        return message.getFieldList().stream()
                .anyMatch(f -> f.hasOneofIndex() && f.getOneofIndex() == oneofIndex && f.getProto3Optional());
    }

    private static boolean hasComment(SourceCodeInfo.Location location) {
        return !location.getLeadingComments().isBlank() || !location.getTrailingComments().isBlank();
    }

    private static List<Integer> append(List<Integer> path, int kind, int index) {
        List<Integer> out = new ArrayList<>(path);
        out.add(kind);
        out.add(index);
        return out;
    }

    private static Set<String> protoSources() throws IOException {
        Path root = Path.of(System.getProperty("sdmesh.proto.sources"));
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.toString().endsWith(".proto"))
                    .map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }
}
