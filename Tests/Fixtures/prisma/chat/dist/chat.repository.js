"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.ChatRepository = void 0;
// Compiled before the fix: still sends messageType and includes readReceipts.
class ChatRepository {
    constructor(db) {
        this.db = db;
    }
    async sendMessage(conversationId, senderId, content, messageType) {
        const message = await this.db.message.create({
            data: {
                content,
                messageType,
                conversationId,
                senderId,
            },
        });
        return message;
    }
    async history(conversationId, userId) {
        return this.db.message.findMany({
            where: { conversationId },
            orderBy: { createdAt: 'desc' },
            include: {
                readReceipts: {
                    where: { userId },
                },
            },
        });
    }
}
exports.ChatRepository = ChatRepository;
